#!/usr/bin/env python3
"""Helpers for the S3 tests (run with <repo>/.venv/bin/python; boto3 comes with moto).

  moto BUCKET...             start moto_server on a free 127.0.0.1 port, turn on auth, create the buckets; print one
                             JSON line {port, access_key, secret_key, role_arn}; stop moto when stdin closes
  setup PORT BUCKET...       the same setup against an already running moto server (used by s3-server.sh)
  list PORT AK SK BUCKET     print JSON {keys: [...], uploads: [...]} (objects and unfinished multipart uploads)
  proxy UPSTREAM_PORT RULES  fault-injecting HTTP proxy in front of moto; RULES is a JSON list of
                             {"method", "contains", "action": slowdown|reset|truncate|deny|error200|expired|delay,
                             "times"} (delay: wait "seconds", default 3, then forward); prints its port;
                             GET /__faults answers the faults applied so far; stops when stdin closes.
                             It also answers STS AssumeRoleWithWebIdentity (see web_identity) using
                             ADMIN_ACCESS_KEY/ADMIN_SECRET_KEY from the environment
  creds TOKEN JSON           container-credentials endpoint: answers JSON when Authorization == TOKEN, else 401;
                             prints its port; GET /__hits answers the number of credential requests
"""
import http.client
import http.server
import json
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import os


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).read()
            return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"moto_server on port {port} did not answer within {timeout} s")


def client(service, port, ak="testing", sk="testing"):
    import boto3
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id=ak, aws_secret_access_key=sk)


def setup(port, buckets):
    """IAM user + key allowed everything, a role for web identity, buckets; then real signature checks."""
    iam = client("iam", port)
    allow_all = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    iam.create_user(UserName="optimize-test")
    iam.put_user_policy(UserName="optimize-test", PolicyName="all", PolicyDocument=allow_all)
    key = iam.create_access_key(UserName="optimize-test")["AccessKey"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Federated": "test"}, "Action": "sts:AssumeRoleWithWebIdentity"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/optimize-test"}, "Action": "sts:AssumeRole"}]})
    role = iam.create_role(RoleName="optimize-web", AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(RoleName="optimize-web", PolicyName="all", PolicyDocument=allow_all)
    s3 = client("s3", port)
    for bucket in buckets:
        s3.create_bucket(Bucket=bucket)
    req = urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset-auth", data=b"0", method="POST",
                                 headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(req).read()
    return {"port": port, "access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"], "role_arn": role["Arn"]}


def wait_stdin_eof():
    while sys.stdin.buffer.read(4096):
        pass


def run_moto(buckets):
    port = free_port()
    moto = os.path.join(os.path.dirname(sys.executable), "moto_server")
    proc = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port)
        print(json.dumps(setup(port, buckets)), flush=True)
        wait_stdin_eof()
    finally:
        proc.terminate()
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def list_bucket(port, ak, sk, bucket):
    s3 = client("s3", port, ak, sk)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    uploads = [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    print(json.dumps({"keys": keys, "uploads": uploads}))


class QuietServer(http.server.ThreadingHTTPServer):
    """Clients that hang up early (cancelled or aborted transfers) are expected: no traceback for them."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(handler_class):
    server = QuietServer(("127.0.0.1", 0), handler_class)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    wait_stdin_eof()
    server.shutdown()


def run_proxy(upstream, rules):
    lock = threading.Lock()
    applied = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def rule(self):
            with lock:
                for r in rules:
                    if r["times"] > 0 and r["method"] == self.command and r["contains"] in self.path:
                        r["times"] -= 1
                        applied.append(f'{r["action"]} {self.command}')
                        self.delay_seconds = r.get("seconds", 3)
                        return r["action"]
            return None

        def handle_any(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/__faults":
                return self.reply(200, {"Content-Type": "application/json"}, json.dumps(applied).encode())
            if b"Action=AssumeRoleWithWebIdentity" in body:
                return self.web_identity(body)
            action = self.rule()
            if action == "slowdown":
                xml = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>"
                return self.reply(503, {"Content-Type": "application/xml"}, xml)
            if action == "deny":
                xml = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
                return self.reply(403, {"Content-Type": "application/xml"}, xml)
            if action in ("error200", "expired"):
                code = b"AccessDenied" if action == "error200" else b"ExpiredToken"
                xml = b"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>" + code + b"</Code><Message>m</Message></Error>"
                return self.reply(200 if action == "error200" else 400, {"Content-Type": "application/xml"}, xml)
            if action == "reset":
                # Linger 0 makes the close abortive (TCP RST). Close the descriptor itself now: the socket
                # object's close is deferred while the handler's reader still references it.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                os.close(self.connection.detach())
                self.close_connection = True
                return
            if action == "delay":
                time.sleep(self.delay_seconds)
            upstream_conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "expect")}
            upstream_conn.request(self.command, self.path, body=body, headers=headers)
            response = upstream_conn.getresponse()
            data = response.read()
            out = {k: v for k, v in response.getheaders() if k.lower() not in ("connection", "transfer-encoding", "content-length")}
            if action == "truncate" and len(data) > 1:
                self.send_response(response.status)
                for k, v in out.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.reply(response.status, out, data, head=self.command == "HEAD",
                       length=response.getheader("Content-Length"))

        def web_identity(self, body):
            # moto 5.2.5 insists on a signature for AssumeRoleWithWebIdentity once auth is on (AWS does not):
            # answer it here with credentials moto issues for the same role through a signed AssumeRole.
            form = urllib.parse.parse_qs(body.decode())
            with lock:
                applied.append("web-identity " + form["WebIdentityToken"][0])
            sts = client("sts", upstream, os.environ["ADMIN_ACCESS_KEY"], os.environ["ADMIN_SECRET_KEY"])
            c = sts.assume_role(RoleArn=form["RoleArn"][0], RoleSessionName=form["RoleSessionName"][0])["Credentials"]
            xml = ("<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
                   f"<AccessKeyId>{c['AccessKeyId']}</AccessKeyId><SecretAccessKey>{c['SecretAccessKey']}</SecretAccessKey>"
                   f"<SessionToken>{c['SessionToken']}</SessionToken>"
                   f"<Expiration>{c['Expiration'].strftime('%Y-%m-%dT%H:%M:%SZ')}</Expiration>"
                   "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>")
            self.reply(200, {"Content-Type": "text/xml"}, xml.encode())

        def reply(self, status, headers, data, head=False, length=None):
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", length if head and length else str(len(data)))
            self.end_headers()
            if not head:
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    serve(Proxy)


def run_creds(token, answer):
    hits = []

    class Creds(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == "/__hits":
                body = str(len(hits)).encode()
                status = 200
            elif self.headers.get("Authorization") == token:
                hits.append(self.path)
                body, status = answer.encode(), 200
            else:
                body, status = b'{"message":"unauthorized"}', 401
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    serve(Creds)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "moto":
        run_moto(args)
    elif command == "setup":
        print(json.dumps(setup(int(args[0]), args[1:])))
    elif command == "list":
        list_bucket(int(args[0]), args[1], args[2], args[3])
    elif command == "proxy":
        run_proxy(int(args[0]), json.loads(args[1]))
    elif command == "creds":
        run_creds(args[0], args[1])
    else:
        raise SystemExit(__doc__)
