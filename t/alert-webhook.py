#!/usr/bin/python3
# alert-webhook.py PORT DIR - the webhook receiver of t/59-alerts.t: an
# HTTP server on 127.0.0.1:PORT that answers every POST with 204 and
# writes its body to DIR/N.json and its headers to DIR/N.headers (N
# from 1; each written to a temporary name, then renamed, so a reader
# never sees half a file).  It runs until it is killed.
import http.server
import os
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


http.server.HTTPServer(('127.0.0.1', port), Hook).serve_forever()
