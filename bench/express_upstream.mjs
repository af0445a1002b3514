// The same echo handler as bench/echo_app.py, written with @azure/web-pubsub-express.
// Usage: node bench/express_upstream.mjs  -> prints {"port": N} once listening on 127.0.0.1.
// The packages come from tests/node (npm ci --prefix tests/node).
// Note: the middleware does not check ce-signature; our Python side does.
import { createRequire } from "node:module";

const require = createRequire(new URL("../tests/node/package.json", import.meta.url));
const express = require("express");
const { WebPubSubEventHandler } = require("@azure/web-pubsub-express");

const handler = new WebPubSubEventHandler("bench", {
  path: "/api/bench/",
  handleUserEvent: (req, res) => {
    res.success(req.data, req.dataType);
  },
});

const app = express();
app.use(handler.getMiddleware());
const server = app.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
