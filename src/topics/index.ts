/** Topic names and filters, the subscription index and the topic-id tables: pure, no I/O. */
export { MAX_TOPIC_BYTES, hasWildcards, topicMatchesFilter, validateTopicFilter, validateTopicName } from './topic-names.js';
export { TopicTrie } from './trie.js';
export { PredefinedTopics, TopicRegistry, type RejectedRegistration, type TopicRegistration } from './registry.js';
export { TopicError, TopicErrorCode } from './errors.js';
