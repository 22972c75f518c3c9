#!/usr/bin/python3
"""What the alerting tests' receivers got (alert_sinks.py logs), one
message a line: "CHANNEL<TAB>FIRST LINE<TAB>WHOLE TEXT (newlines as |)".

  alert_check.py messages HOOK_LOG TG_LOG MAIL_LOG   the messages, oldest first
  alert_check.py hmac HOOK_LOG SECRET                every webhook request is signed right
  alert_check.py telegram TG_LOG TOKEN CHAT          every request is a Bot API sendMessage
"""
import email
import email.header
import hashlib
import hmac
import json
import sys


def records(log, kind):
    try:
        with open(log) as f:
            for line in f:
                line = line.strip()
                if line:
                    rec = json.loads(line)
                    if rec.get("event") == kind:
                        yield rec
    except FileNotFoundError:
        return


def flat(text):
    return text.replace("\r\n", "\n").strip("\n").replace("\n", "|")


def messages(hook, tg, mail):
    out = []
    for rec in records(hook, "request"):
        if rec["status"] == 200:
            body = json.loads(rec["body"])
            out.append(("hook", body["title"], flat(body["text"]), body.get("status", "")))
    for rec in records(tg, "request"):
        if rec["status"] == 200:
            text = json.loads(rec["body"])["text"]
            out.append(("telegram", text.split("\n")[0], flat(text), ""))
    for rec in records(mail, "mail"):
        msg = email.message_from_string(rec["data"])
        subject = str(email.header.make_header(email.header.decode_header(msg["Subject"])))
        out.append(("mail", subject, flat(msg.get_payload(decode=True).decode("utf-8")), ",".join(rec["to"])))
    for m in out:
        print("\t".join(m))


def check_hmac(hook, secret):
    n = 0
    for rec in records(hook, "request"):
        want = "sha256=" + hmac.new(secret.encode(), rec["body"].encode(), hashlib.sha256).hexdigest()
        got = rec["headers"].get("x-synwatch-signature", "")
        if not hmac.compare_digest(want, got):
            sys.exit(f"bad signature {got!r} on {rec['body'][:80]!r}, want {want!r}")
        if rec["headers"].get("content-type") != "application/json" or rec["method"] != "POST":
            sys.exit(f"not a JSON POST: {rec['method']} {rec['headers'].get('content-type')}")
        n += 1
    print(n)


def check_telegram(tg, token, chat):
    n = 0
    for rec in records(tg, "request"):
        if rec["method"] != "POST" or rec["path"] != f"/bot{token}/sendMessage":
            sys.exit(f"not sendMessage: {rec['method']} {rec['path']}")
        body = json.loads(rec["body"])
        if str(body.get("chat_id")) != chat or not body.get("text"):
            sys.exit(f"bad body {rec['body']!r}")
        n += 1
    print(n)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "messages" and len(args) == 3:
        messages(*args)
    elif cmd == "hmac" and len(args) == 2:
        check_hmac(*args)
    elif cmd == "telegram" and len(args) == 3:
        check_telegram(*args)
    else:
        sys.exit(__doc__)
