#!/usr/bin/env python3
"""Helpers for the job tests (run with <repo>/.venv/bin/python). S3 servers come from
Tests/S3Tests/Support/s3_test_helper.py; this adds Step Functions and a webhook receiver.

  sfn-server              start a second moto_server (auth off: its state machines call SQS with fixed keys) with
                          Step Functions execution on; print {port}; stop when stdin closes
  sfn-start PORT HB       create a queue and a state machine whose Task is sqs:sendMessage.waitForTaskToken
                          (HeartbeatSeconds HB), start it, read the token from the queue; print {token, execution}
  sfn-wait PORT ARN       wait (30 s max) until the execution leaves RUNNING; print {status, output, error, cause}
                          (moto 5.2.5 drops the cause of SendTaskFailure: it is always null)
  webhook [STATUS BODY]   HTTP server recording POSTs, answering STATUS with BODY (default 204, empty);
                          print {port}; GET /__events answers [{signature, target, body}]; stop when stdin closes
"""
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../S3Tests/Support"))
import s3_test_helper as base  # noqa: E402


def sfn_server():
    port = base.free_port()
    moto = os.path.join(os.path.dirname(sys.executable), "moto_server")
    env = dict(os.environ, MOTO_PORT=str(port))
    proc = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base.wait_for(port)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/config", method="POST",
                                     data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req).read()
        print(json.dumps({"port": port}), flush=True)
        base.wait_stdin_eof()
    finally:
        proc.terminate()
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sfn_start(port, heartbeat):
    name = "job-" + uuid.uuid4().hex[:8]
    sqs = base.client("sqs", port)
    sfn = base.client("stepfunctions", port)
    iam = base.client("iam", port)
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    definition = {"StartAt": "Optimize", "States": {"Optimize": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "HeartbeatSeconds": heartbeat, "TimeoutSeconds": 120,
        "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}}, "End": True}}}
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    deadline = time.time() + 30
    while time.time() < deadline:
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            token = json.loads(messages[0]["Body"])["token"]
            print(json.dumps({"token": token, "execution": execution}))
            return
    raise SystemExit("no task token arrived in the queue")


def sfn_wait(port, arn):
    sfn = base.client("stepfunctions", port)
    deadline = time.time() + 30
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING" or time.time() > deadline:
            break
        time.sleep(0.2)
    print(json.dumps({k: d.get(k) for k in ("status", "output", "error", "cause")}))


def webhook(status=204, answer=b""):
    events = []

    class Hook(base.http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            events.append({"signature": self.headers.get("X-Optimize-Signature"),
                           "target": self.headers.get("X-Amz-Target"), "body": body.decode()})
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def do_GET(self):
            body = json.dumps(events).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    base.serve(Hook)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "sfn-server":
        sfn_server()
    elif command == "sfn-start":
        sfn_start(int(args[0]), int(args[1]))
    elif command == "sfn-wait":
        sfn_wait(int(args[0]), args[1])
    elif command == "webhook":
        webhook(int(args[0]), args[1].encode()) if args else webhook()
    else:
        raise SystemExit(__doc__)
