# SPDX-License-Identifier: Apache-2.0
# edgewhisk Python launcher (actionloop side of runtimes/proxy/ewproxy.c).
# Started once by the proxy after /init, in /action, with:
#   EW_ACTION_FILE  plain-text action source (empty for a zip action)
#   EW_ACTION_DIR   unpacked zip: __main__.py (+ optional virtualenv/)
#   EW_ACTION_MAIN  name of the function to call (default "main")
#   __OW_WAIT_FOR_ACK  when set, write {"ok": true} on fd 3 once loaded
# Then: one JSON request per stdin line -> exactly one JSON line on fd 3.
# print() output goes to the container log and is flushed before the result.
import asyncio
import glob
import importlib.util
import inspect
import json
import os
import sys
import traceback

MAIN_NAME = os.environ.get("EW_ACTION_MAIN") or "main"
WANT_ACK = bool(os.environ.get("__OW_WAIT_FOR_ACK"))
ACTION_FILE = os.environ.get("EW_ACTION_FILE")
ACTION_DIR = os.environ.get("EW_ACTION_DIR") or "/action"
# The EW_ACTION_* names are for this launcher only: the action's
# environment is what the spec lists (section 10), nothing more.
for _k in [k for k in os.environ if k.startswith("EW_ACTION_")]:
    del os.environ[_k]
out = os.fdopen(3, "wb")


def write_result(obj):
    try:
        line = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        line = json.dumps({"error": "The action returned a value that cannot be "
                                    "serialized to JSON: %s" % e})
    # json.dumps escapes newlines in strings: this is exactly one line.
    out.write(line.encode("utf-8", "surrogatepass") + b"\n")
    out.flush()


def load():
    file = ACTION_FILE
    adir = ACTION_DIR
    if not file:
        file = os.path.join(adir, "__main__.py")
        if not os.path.exists(file):
            raise ImportError("Zipped actions must contain __main__.py at the root.")
        for sp in glob.glob(os.path.join(adir, "virtualenv", "lib", "python3*", "site-packages")):
            sys.path.insert(0, sp)
    sys.path.insert(0, os.path.dirname(file))
    spec = importlib.util.spec_from_file_location("main__", file)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["main__"] = mod
    spec.loader.exec_module(mod)
    fn = getattr(mod, MAIN_NAME, None)
    if not callable(fn):
        raise AttributeError("Action entrypoint '%s' is not a function." % MAIN_NAME)
    return fn


_ow_keys = set()


def set_run_env(msg):
    global _ow_keys
    keys = set()
    for k, v in msg.items():
        if k == "value":
            continue
        name = "__OW_" + k.upper()
        os.environ[name] = v if isinstance(v, str) else json.dumps(v)
        keys.add(name)
    for k in _ow_keys - keys:
        os.environ.pop(k, None)
    _ow_keys = keys


def run_one(fn, line):
    try:
        msg = json.loads(line)
    except ValueError as e:
        return {"error": "The launcher received a request that is not JSON: %s" % e}
    if not isinstance(msg, dict):
        msg = {}
    set_run_env(msg)
    value = msg.get("value", {})
    try:
        res = fn(value)
        if inspect.isawaitable(res):
            res = asyncio.run(res) if inspect.iscoroutine(res) else asyncio.run(_await(res))
        return res
    except Exception as ex:  # the action's failure is an application error
        traceback.print_exc(file=sys.stderr)
        return {"error": str(ex) or type(ex).__name__}


async def _await(x):
    return await x


def main():
    try:
        fn = load()
    except BaseException as ex:  # SyntaxError, SystemExit at import, ...
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        if WANT_ACK:
            write_result({"ok": False,
                          "error": "Initialization has failed due to: %s: %s" % (type(ex).__name__, ex)})
        sys.exit(1)
    if WANT_ACK:
        write_result({"ok": True})
    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:
            break
        if not line.strip():
            continue
        res = run_one(fn, line.decode("utf-8", "surrogateescape"))
        sys.stdout.flush()
        sys.stderr.flush()
        write_result(res)


if __name__ == "__main__":
    main()
