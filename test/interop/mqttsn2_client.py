#!/usr/bin/env python3
"""An MQTT-SN 2.0 (OASIS CSD01) client written independently of the gateway's codec.

Every packet is built by hand with struct from the field layouts of the spec (section 3 of
/work/shared/protocol/MQTT-SN-2.0.md, figure numbers of CSD01 cited beside each). Standard library
only. Usage: mqttsn2_client.py HOST PORT CLIENT_ID

It runs one scripted session and prints one JSON object per line on stdout for the test that
drives it (test/interop/python-v2-client.test.ts):
  CONNECT (Clean Start, Session Expiry 60 s) -> REGISTER -> PUBLISH QoS 1 on the session alias
  -> PUBLISH QoS 0 with a full topic name -> SUBSCRIBE QoS 1 -> prints {"step": "subscribed"}
  -> waits for one PUBLISH (sent by a 1.2 client of the test) and acknowledges it -> PINGREQ
  (1-byte, then 3-byte Length form)
  -> DISCONNECT keeping the session -> CONNECT without Clean Start (Session Present must be 1)
  -> DISCONNECT with Session Expiry 0 -> CONNECT without Clean Start (Session Present must be 0)
  -> DISCONNECT.
Any deviation raises: the exit code is then 1 and the last line says what was wrong.
"""
import json
import socket
import struct
import sys

TIMEOUT_S = 10.0

# Packet types, CSD01 Fig 2-4
CONNECT, CONNACK, PUBLISH, PUBACK = 0x01, 0x02, 0x03, 0x04
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP = 0x08, 0x09, 0x0C, 0x0D
DISCONNECT, REGISTER, REGACK = 0x0E, 0x10, 0x11


def emit(**fields):
    print(json.dumps(fields), flush=True)


def frame(ptype, body):
    """Length counts the whole packet including itself; 3-byte form beyond 255 (CSD01 2.1.1)."""
    total = len(body) + 2
    if total <= 255:
        return struct.pack('!BB', total, ptype) + body
    return struct.pack('!BHB', 0x01, total + 2, ptype) + body


def parse(data):
    """(type, body) of one datagram, either Length form."""
    if data[0] == 0x01:
        (length,) = struct.unpack_from('!H', data, 1)
        if length != len(data):
            raise AssertionError('3-byte Length %d but datagram of %d: %s' % (length, len(data), data.hex()))
        return data[3], data[4:]
    if data[0] != len(data):
        raise AssertionError('Length %d but datagram of %d: %s' % (data[0], len(data), data.hex()))
    return data[1], data[2:]


class Client:
    def __init__(self, host, port):
        self.sock = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(TIMEOUT_S)
        self.addr = (host, port)
        self.next_pid = 0x1200

    def pid(self):
        self.next_pid += 1
        return self.next_pid

    def send(self, ptype, body):
        self.sock.sendto(frame(ptype, body), self.addr)

    def expect(self, ptype):
        """The next packet of this type; REGISTERs from the server on the way are acknowledged."""
        while True:
            data, _ = self.sock.recvfrom(65535)
            t, body = parse(data)
            if t == ptype:
                return body
            if t == REGISTER:
                self.regack_server(body)
                continue
            raise AssertionError('expected type 0x%02x, got %s' % (ptype, data.hex()))

    def regack_server(self, body):
        # Server->client REGISTER carries the alias (CSD01 3.4, MQTT-SN-3.4-2): Flags, PacketId, Alias, Name.
        flags, pid, alias = struct.unpack_from('!BHH', body)
        if flags & 0x01 != 1:
            raise AssertionError('server REGISTER without the Topic Alias flag: %s' % body.hex())
        emit(step='server-register', alias=alias, topic=body[5:].decode())
        # Client->server REGACK has no alias (MQTT-SN-3.5.4-1): Flags 0, PacketId, Reason Code 0x00.
        self.send(REGACK, struct.pack('!BHB', 0x00, pid, 0x00))

    def connect(self, client_id, clean_start, session_expiry):
        # CSD01 3.1, Fig 3-1: Flags (b3 Session Expiry present, b0 Clean Start), PacketId,
        # Protocol Version 0x02, Keep Alive, Maximum Packet Size (0: no limit), Session Expiry, Client Id.
        pid = self.pid()
        flags = 0x08 | (0x01 if clean_start else 0x00)
        self.send(CONNECT, struct.pack('!BHBHHI', flags, pid, 0x02, 60, 0, session_expiry) + client_id.encode())
        body = self.expect(CONNACK)
        # CSD01 3.2, Fig 3-3: Flags (b0 Session Present), PacketId, Reason Code, optional fields.
        cflags, apid, rc = struct.unpack_from('!BHB', body)
        if apid != pid:
            raise AssertionError('CONNACK echoes packet id %d, sent %d' % (apid, pid))
        if rc != 0x00:
            raise AssertionError('CONNACK Reason Code 0x%02x: %s' % (rc, body.hex()))
        if cflags & 0xF0:
            raise AssertionError('CONNACK reserved flag bits set: %s' % body.hex())
        return cflags & 0x01

    def register(self, topic):
        # CSD01 3.4, Fig 3-5: Flags 0 (no alias from a client), PacketId, Topic Name.
        pid = self.pid()
        self.send(REGISTER, struct.pack('!BH', 0x00, pid) + topic.encode())
        body = self.expect(REGACK)
        # CSD01 3.5, Fig 3-6: Flags (b2 alias present, b1-0 type), PacketId, [Alias], [Reason Code].
        flags, apid = struct.unpack_from('!BH', body)
        if apid != pid or flags & 0x04 == 0:
            raise AssertionError('REGACK without an alias for %d: %s' % (pid, body.hex()))
        (alias,) = struct.unpack_from('!H', body, 3)
        rc = body[5] if len(body) > 5 else 0x00
        if rc != 0x00 or flags & 0x03 != 0b00:
            raise AssertionError('REGACK Reason Code 0x%02x, topic type %d' % (rc, flags & 0x03))
        return alias

    def publish_qos1_alias(self, alias, payload):
        # CSD01 3.6.2, Fig 3-9: Flags (QoS 1 = b6-5 01, Topic Type 00 session alias), PacketId, Alias, Payload.
        pid = self.pid()
        self.send(PUBLISH, struct.pack('!BHH', 0x20, pid, alias) + payload)
        body = self.expect(PUBACK)
        # CSD01 3.6.3, Fig 3-12: PacketId, [Reason Code] (absent = 0x00).
        (apid,) = struct.unpack_from('!H', body)
        rc = body[2] if len(body) > 2 else 0x00
        if apid != pid or rc != 0x00:
            raise AssertionError('PUBACK %s for packet id %d' % (body.hex(), pid))

    def publish_qos0_name(self, topic, payload):
        # Fig 3-9 with QoS 0 (no PacketId) and Topic Type 11: Topic Name Length, Topic Name, Payload.
        name = topic.encode()
        self.send(PUBLISH, struct.pack('!BH', 0x03, len(name)) + name + payload)

    def subscribe(self, topic_filter):
        # CSD01 3.7, Fig 3-16: Flags (QoS 1, Retain Handling 0, Topic Type 11 filter), PacketId, Filter.
        pid = self.pid()
        self.send(SUBSCRIBE, struct.pack('!BH', 0x23, pid) + topic_filter.encode())
        body = self.expect(SUBACK)
        # CSD01 3.8, Fig 3-17: Flags (b2 alias present, b1-0 type), PacketId, [Alias], [Reason Code].
        flags, apid = struct.unpack_from('!BH', body)
        if apid != pid:
            raise AssertionError('SUBACK for packet id %d, sent %d' % (apid, pid))
        rest = body[3:]
        alias = None
        if flags & 0x04:
            (alias,) = struct.unpack_from('!H', rest)
            rest = rest[2:]
        granted = rest[0] if rest else 0x00
        if granted not in (0x00, 0x01, 0x02):
            raise AssertionError('SUBACK refused: Reason Code 0x%02x' % granted)
        return alias, granted

    def receive_publish(self):
        body = self.expect(PUBLISH)
        flags = body[0]
        qos = (flags >> 5) & 0x03
        topic_type = flags & 0x03
        off = 1
        pid = None
        if qos > 0:
            (pid,) = struct.unpack_from('!H', body, off)
            off += 2
        (alias_or_len,) = struct.unpack_from('!H', body, off)
        off += 2
        topic = None
        if topic_type == 0b11:
            topic = body[off:off + alias_or_len].decode()
            off += alias_or_len
        payload = body[off:]
        if qos == 1:
            # PUBACK without a Reason Code (0x00 by absence, CSD01 3.6.3).
            self.send(PUBACK, struct.pack('!H', pid))
        return {'qos': qos, 'topicType': topic_type, 'alias': None if topic_type == 0b11 else alias_or_len,
                'topic': topic, 'payload': payload.decode(errors='replace'), 'dup': bool(flags & 0x80)}

    def ping(self, long_form=False):
        # CSD01 3.11, Fig 3-20: PINGREQ is a PacketId only (no Client Id as in 1.2). long_form: the
        # 3-byte Length form, which receivers MUST accept for any packet (MQTT-SN-2.1.2-1).
        pid = self.pid()
        if long_form:
            self.sock.sendto(struct.pack('!BHBH', 0x01, 6, PINGREQ, pid), self.addr)
        else:
            self.send(PINGREQ, struct.pack('!H', pid))
        body = self.expect(PINGRESP)
        (apid,) = struct.unpack_from('!H', body)
        if apid != pid:
            raise AssertionError('PINGRESP for %d, sent %d' % (apid, pid))

    def disconnect(self, session_expiry=None):
        # CSD01 3.13, Fig 3-23: Flags (b2 Reason Code present, b1 Session Expiry present), fields.
        if session_expiry is None:
            self.send(DISCONNECT, struct.pack('!BB', 0x04, 0x00))
        else:
            # Only the Session Expiry flag: its field order against the Reason Code is AMBIG-7.
            self.send(DISCONNECT, struct.pack('!BI', 0x02, session_expiry))


def main():
    host, port, client_id = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    c = Client(host, port)
    present = c.connect(client_id, clean_start=True, session_expiry=60)
    emit(step='connected', sessionPresent=present)
    alias = c.register('e2e/from2/qos1')
    emit(step='registered', alias=alias)
    c.publish_qos1_alias(alias, b'two-qos1')
    emit(step='published-qos1')
    c.publish_qos0_name('e2e/from2/qos0', b'two-qos0')
    emit(step='published-qos0')
    sub_alias, granted = c.subscribe('e2e/to2')
    emit(step='subscribed', alias=sub_alias, granted=granted)
    got = c.receive_publish()
    emit(step='received', **got)
    c.ping()
    emit(step='pinged')
    c.ping(long_form=True)
    emit(step='pinged-3byte')
    c.disconnect()
    present = c.connect(client_id, clean_start=False, session_expiry=60)
    emit(step='resumed', sessionPresent=present)
    c.disconnect(session_expiry=0)
    present = c.connect(client_id, clean_start=False, session_expiry=0)
    emit(step='after-expiry', sessionPresent=present)
    c.disconnect()
    emit(step='done')


if __name__ == '__main__':
    try:
        main()
    except (AssertionError, socket.timeout, OSError, struct.error) as e:
        emit(step='failed', error='%s: %s' % (type(e).__name__, e))
        sys.exit(1)
