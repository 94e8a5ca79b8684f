// A test reporter beside spec (test/run.mjs adds it): names each test file the runner stopped
// because it overran --test-timeout, so a hang reads as one line, not as a run that never ends.
export default async function* hungFiles(source) {
  for await (const event of source) {
    if (event.type !== 'test:fail' || event.data.nesting !== 0) continue;
    const error = event.data.details?.error;
    if (error?.failureType !== 'testTimeoutFailure') continue;
    yield `test/run.mjs: ${event.data.name} hung: still running after ${Math.round(event.data.details.duration_ms)} ms, so it was stopped (SIGTERM) with the child processes its helpers started\n`;
  }
}
