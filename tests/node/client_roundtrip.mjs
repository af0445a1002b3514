// Two @azure/web-pubsub-client clients (reliable JSON protocol by default):
// connect, join a group, send to it, receive, and optionally send an event upstream.
// Usage: node client_roundtrip.mjs <aliceUrl> <bobUrl> [eventName]
// Prints one JSON object with what happened.
import { WebPubSubClient } from "@azure/web-pubsub-client";

const [aliceUrl, bobUrl, eventName] = process.argv.slice(2);
const TIMEOUT_MS = 10000;

function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const result = {};
const alice = new WebPubSubClient(aliceUrl);
const bob = new WebPubSubClient(bobUrl);
const connected = (client, name) =>
  new Promise((resolve) =>
    client.on("connected", (e) => {
      result[`${name}ConnectionId`] = e.connectionId;
      result[`${name}UserId`] = e.userId ?? null;
      resolve();
    }),
  );
const aliceConnected = connected(alice, "alice");
const bobConnected = connected(bob, "bob");
const groupMessage = new Promise((resolve) => bob.on("group-message", (e) => resolve(e.message)));
const serverMessage = new Promise((resolve) => alice.on("server-message", (e) => resolve(e.message)));

try {
  await within(alice.start(), "alice to start");
  await within(bob.start(), "bob to start");
  await within(Promise.all([aliceConnected, bobConnected]), "connected events");
  await bob.joinGroup("room");
  await alice.joinGroup("room");
  await alice.sendToGroup("room", { hello: "bob" }, "json");
  result.groupMessage = await within(groupMessage, "the group message");
  if (eventName) {
    await alice.sendEvent(eventName, "ping", "text");
    result.serverMessage = await within(serverMessage, "the event reply");
  }
  result.ok = true;
} catch (err) {
  result.ok = false;
  result.error = String(err?.message ?? err);
} finally {
  alice.stop();
  bob.stop();
}
process.stdout.write(JSON.stringify(result) + "\n");
process.exit(result.ok ? 0 : 1);
