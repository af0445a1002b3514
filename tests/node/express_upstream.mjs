// An event handler built with the official @azure/web-pubsub-express middleware.
// Usage: node express_upstream.mjs <hub>
// Prints {"port": N} once listening, then one JSON line per request it handled.
import express from "express";
import { WebPubSubEventHandler } from "@azure/web-pubsub-express";

const hub = process.argv[2] ?? "chat";
const log = (record) => process.stdout.write(JSON.stringify(record) + "\n");

function describe(data, dataType) {
  if (dataType === "binary") return Buffer.from(data).toString("base64");
  return data;
}

const handler = new WebPubSubEventHandler(hub, {
  path: "/eventhandler",
  handleConnect: (req, res) => {
    const ctx = req.context;
    log({
      event: "connect",
      hub: ctx.hub,
      connectionId: ctx.connectionId,
      userId: ctx.userId ?? null,
      subprotocols: req.subprotocols ?? [],
      query: req.queries ?? {},
      claims: req.claims ?? {},
      signature: ctx.signature ?? null,
    });
    if (req.queries?.reject) {
      res.fail(401, "rejected by express");
      return;
    }
    res.success({
      userId: `express-${ctx.userId ?? "anonymous"}`,
      groups: ["from-express"],
      roles: ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"],
    });
  },
  handleUserEvent: (req, res) => {
    const ctx = req.context;
    const counter = Number(ctx.states?.counter ?? 0) + 1;
    log({
      event: ctx.eventName,
      connectionId: ctx.connectionId,
      userId: ctx.userId ?? null,
      dataType: req.dataType,
      data: describe(req.data, req.dataType),
      counter,
      origin: ctx.origin ?? null,
    });
    res.setState("counter", counter);
    if (req.dataType === "binary") {
      res.success(req.data, "binary");
    } else if (req.dataType === "json") {
      res.success(JSON.stringify({ echo: req.data, counter }), "json");
    } else {
      res.success(`echo:${req.data}`, "text");
    }
  },
  onConnected: (req) => log({ event: "connected", connectionId: req.context.connectionId }),
  onDisconnected: (req) =>
    log({ event: "disconnected", connectionId: req.context.connectionId, reason: req.reason ?? null }),
});

const app = express();
app.use((req, _res, next) => {
  if (req.method === "OPTIONS") {
    log({ event: "validate", path: req.path, origin: req.headers["webhook-request-origin"] ?? null });
  }
  next();
});
app.use(handler.getMiddleware());

const server = app.listen(0, "127.0.0.1", () => log({ port: server.address().port }));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
