/**
 * The program the process runtime runs for the `nginx` image: serves nginx's welcome page on
 * `$POD_IP` (default 0.0.0.0), port `$PORT` (default 80) + `$PORT_OFFSET`, writes an access-log line
 * per request on stdout in nginx's combined format, and shuts down gracefully on SIGQUIT (nginx's stop
 * signal), SIGTERM or SIGINT, exiting 0.
 *
 * ```sh
 * POD_IP=127.0.0.1 PORT=8080 deno run --allow-net --allow-env agents/runtime/programs/web_server.ts
 * ```
 * @module
 */

const WELCOME = `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>
<p><em>Thank you for using nginx.</em> (Served by kubelab's process runtime.)</p>
</body>
</html>
`;

/** nginx's `$time_local`: `28/Nov/2026:04:13:49 +0000`. */
function timeLocal(d: Date): string {
  const months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(" ");
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

const hostname = Deno.env.get("POD_IP") || "0.0.0.0";
const port = Number(Deno.env.get("PORT") || 80) + Number(Deno.env.get("PORT_OFFSET") || 0);
const controller = new AbortController();
for (const sig of ["SIGQUIT", "SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(sig, () => {
    console.log(`${new Date().toISOString()} [notice] signal ${sig} received, shutting down`);
    controller.abort();
  });
}

const server = Deno.serve({
  hostname,
  port,
  signal: controller.signal,
  onListen: ({ hostname, port }) =>
    console.log(`start worker process: listening on ${hostname}:${port}`),
}, (req, info) => {
  const url = new URL(req.url);
  const found = url.pathname === "/" || url.pathname === "/index.html";
  const body = found ? WELCOME : "<html><body><h1>404 Not Found</h1></body></html>\n";
  const status = found ? 200 : 404;
  const addr = (info.remoteAddr as Deno.NetAddr).hostname;
  console.log(
    `${addr} - - [${
      timeLocal(new Date())
    }] "${req.method} ${url.pathname}${url.search} HTTP/1.1" ` +
      `${status} ${body.length} "${req.headers.get("referer") ?? "-"}" ` +
      `"${req.headers.get("user-agent") ?? "-"}"`,
  );
  return new Response(req.method === "HEAD" ? null : body, {
    status,
    headers: { "content-type": "text/html", server: "nginx (kubelab)" },
  });
});
await server.finished;
