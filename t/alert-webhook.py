#!/usr/bin/python3
# alert-webhook.py PORT DIR [CERT KEY] - the webhook receiver of
# t/59-alerts.t: an HTTP server on 127.0.0.1:PORT (HTTPS with the PEM
# certificate and key CERT and KEY) that answers every POST with 204 and
# writes its body to DIR/N.json and its headers to DIR/N.headers (N
# from 1; each written to a temporary name, then renamed, so a reader
# never sees half a file).  It runs until it is killed.
import http.server
import os
import ssl
import sys

port, out = int(sys.argv[1]), sys.argv[2]
count = 0


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        n = int(self.headers.get('Content-Length', '0'))
        body = self.rfile.read(n) if 0 <= n <= 1 << 20 else b''
        count += 1
        for ext, data in (('headers', str(self.headers).encode()),
                          ('json', body)):
            tmp = os.path.join(out, '.%d.%s' % (count, ext))
            with open(tmp, 'wb') as f:
                f.write(data)
            os.rename(tmp, os.path.join(out, '%d.%s' % (count, ext)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, fmt, *args):
        pass


server = http.server.HTTPServer(('127.0.0.1', port), Hook)
if len(sys.argv) == 5:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
