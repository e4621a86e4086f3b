"""A stand-in for the Bun driver that misbehaves on purpose (bridge error-path tests only).

Usage: misbehave.py MODE, MODE one of crash | hang | garbage | wrong_id | check | echo |
no_busy | no_fields | deaf | env. It answers a first ``probe`` correctly, then misbehaves
on the next request (deaf: stops reading its input; env: answers with its environment).
"""

import json
import os
import sys
import time

mode = sys.argv[1]
for n, line in enumerate(sys.stdin):
    req = json.loads(line)
    if n == 0 or mode == "echo":
        reply = {"id": req["id"], "ok": True, "busy_ns": 100 * n, "result": {"n": n}}
        print(json.dumps(reply), flush=True)
        if mode == "deaf":
            time.sleep(60)  # reads nothing more: a request larger than the pipe blocks
        continue
    if mode == "crash":
        print("fatal: simulated crash in the driver", file=sys.stderr, flush=True)
        sys.exit(3)
    if mode == "hang":
        print("about to hang", file=sys.stderr, flush=True)
        time.sleep(60)
    if mode == "garbage":
        print("this is not json", flush=True)
    if mode == "wrong_id":
        print(json.dumps({"id": req["id"] + 7, "ok": True, "busy_ns": 0, "result": {}}), flush=True)
    if mode == "check":
        err = {"type": "check", "message": "find_by_id: expected uid 3, got 4", "stack": None}
        print(json.dumps({"id": req["id"], "ok": False, "busy_ns": 5, "error": err}), flush=True)
    if mode == "no_busy":
        print(json.dumps({"id": req["id"], "ok": True, "result": {}}), flush=True)
    if mode == "no_fields":  # a `run` reply without count, busy_ns and hist
        print(json.dumps({"id": req["id"], "ok": True, "busy_ns": 5, "result": {}}), flush=True)
    if mode == "env":
        reply = {"id": req["id"], "ok": True, "busy_ns": 5, "result": dict(os.environ)}
        print(json.dumps(reply), flush=True)
