// @azure/web-pubsub-client against the emulator: wildcard group roles, retrying a refused
// send with the same ackId, and a server-side group send arriving as a group message.
// Usage: node conformance.mjs <aliceUrl> <bobUrl>
//   alice's token: webpubsub.joinLeaveGroups.news.* (no send role); bob's: webpubsub.joinLeaveGroup
// Talks to the driving test over stdio: prints {"step": ...} lines and waits for one input
// line after "need-grant" and "need-rest-send". The last line is the JSON result.
import { createInterface } from "node:readline";
import { WebPubSubClient } from "@azure/web-pubsub-client";

const [aliceUrl, bobUrl] = process.argv.slice(2);
const TIMEOUT_MS = 10000;
const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function say(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

async function ask(step, detail) {
  say({ step, ...detail });
  const line = await within(input.next(), `the test's answer to ${step}`);
  return line.value;
}

async function refusal(promise) {
  try {
    await promise;
    return null;
  } catch (err) {
    return err?.errorDetail?.name ?? String(err?.message ?? err);
  }
}

const noRetry = { messageRetryOptions: { maxRetries: 0 }, autoRejoinGroups: false };
const alice = new WebPubSubClient(aliceUrl, noRetry);
const bob = new WebPubSubClient(bobUrl, noRetry);
const result = { groupMessages: [], serverMessages: [] };
const aliceConnected = new Promise((resolve) => alice.on("connected", (e) => resolve(e.connectionId)));
bob.on("group-message", (e) => result.groupMessages.push(e.message));
bob.on("server-message", (e) => result.serverMessages.push(e.message));

const until = async (check, what) => {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

try {
  await within(alice.start(), "alice to start");
  await within(bob.start(), "bob to start");
  const aliceId = await within(aliceConnected, "alice's connected event");

  // wildcard roles: '*' matches one dot-segment, nothing more
  result.joinNewsSport = await refusal(alice.joinGroup("news.sport"));
  result.joinNewsSportLive = await refusal(alice.joinGroup("news.sport.live"));
  await bob.joinGroup("news.sport");

  // a refused send keeps its ackId usable
  result.firstSend = await refusal(alice.sendToGroup("news.sport", "hello", "text", { ackId: 5 }));
  await ask("need-grant", { connectionId: aliceId, group: "news.sport" });
  result.retriedSend = await refusal(alice.sendToGroup("news.sport", "hello", "text", { ackId: 5 }));
  await until(() => result.groupMessages.length === 1, "the retried message");

  // a server-side group send fires bob's group-message listener
  await ask("need-rest-send", { group: "news.sport" });
  await until(() => result.groupMessages.length === 2, "the server's group message");
  result.ok = true;
} catch (err) {
  result.ok = false;
  result.error = String(err?.message ?? err);
} finally {
  alice.stop();
  bob.stop();
}
say(result);
process.exit(result.ok ? 0 : 1);
