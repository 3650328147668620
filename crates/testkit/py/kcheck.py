"""Independent Kafka client for clusterlink's tests: librdkafka through confluent-kafka.

Subcommands:
  produce  --bootstrap B     spec JSON on stdin, prints {"delivered": n}
  consume  --bootstrap B --topic T [--isolation read_committed|read_uncommitted]
           [--config JSON]   prints every record of every partition as JSON lines, then exits
                             (--config: extra client settings, e.g. SASL)
  mock     --brokers N       starts librdkafka's mock cluster, prints "bootstrap=...",
                             runs until stdin closes
  topics   --bootstrap B     prints {"topic": partition_count} as JSON
  committed --bootstrap B --group G --topic T
                             prints the group's committed offsets {"partition": offset}
  member   --bootstrap B --group G --topic T --commit OFFSET
                             joins the group subscribed to T, commits OFFSET on partition 0,
                             prints "joined", stays a member (polling) until stdin closes,
                             then leaves the group
Bytes travel as hex strings; null stays null.
"""
import argparse
import json
import sys
import time
import uuid

import confluent_kafka as ck
from confluent_kafka.admin import AdminClient


def unhex(v):
    return None if v is None else bytes.fromhex(v)


def tohex(v):
    return None if v is None else v.hex()


def produce(args):
    spec = json.load(sys.stdin)
    conf = {"bootstrap.servers": args.bootstrap, "linger.ms": 5}
    conf.update(spec.get("config", {}))
    client_errors = []
    conf["error_cb"] = lambda e: client_errors.append(str(e))
    p = ck.Producer(conf)
    errors = []
    delivered = [0]

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            delivered[0] += 1

    def send(r):
        kwargs = dict(
            topic=spec["topic"],
            key=unhex(r.get("key")),
            value=unhex(r.get("value")),
            headers=[(k, unhex(v)) for k, v in r.get("headers", [])] or None,
            on_delivery=on_delivery,
        )
        if r.get("partition") is not None:
            kwargs["partition"] = r["partition"]
        if r.get("timestamp") is not None:
            kwargs["timestamp"] = r["timestamp"]
        while True:
            try:
                p.produce(**kwargs)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)

    if "transactions" in spec:
        p.init_transactions(30)
        for txn in spec["transactions"]:
            p.begin_transaction()
            for r in txn["records"]:
                send(r)
            p.flush(30)
            if txn["commit"]:
                p.commit_transaction(30)
            else:
                p.abort_transaction(30)
    else:
        for r in spec["records"]:
            send(r)
    left = p.flush(60)
    if left or errors:
        print(json.dumps({"error": f"{left} undelivered; errors: {errors[:5]}; client errors: {client_errors[:3]}"}))
        sys.exit(1)
    print(json.dumps({"delivered": delivered[0]}))


def consume(args):
    conf = {
        "bootstrap.servers": args.bootstrap,
        "group.id": "kcheck-" + uuid.uuid4().hex,
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "isolation.level": args.isolation,
        "session.timeout.ms": 6000,
    }
    conf.update(json.loads(args.config))
    c = ck.Consumer(conf)
    md = c.list_topics(args.topic, timeout=10)
    t = md.topics.get(args.topic)
    if t is None or t.error is not None:
        print(json.dumps({"error": f"topic {args.topic}: {t.error if t else 'missing'}"}))
        sys.exit(1)
    parts = sorted(t.partitions)
    c.assign([ck.TopicPartition(args.topic, p, ck.OFFSET_BEGINNING) for p in parts])
    at_end = set()
    deadline = time.time() + args.timeout
    out = []
    while len(at_end) < len(parts):
        if time.time() > deadline:
            print(json.dumps({"error": f"timed out; at end: {sorted(at_end)} of {parts}"}))
            sys.exit(1)
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == ck.KafkaError._PARTITION_EOF:
                at_end.add(m.partition())
                continue
            print(json.dumps({"error": str(m.error())}))
            sys.exit(1)
        at_end.discard(m.partition())
        ts_type, ts = m.timestamp()
        out.append({
            "partition": m.partition(),
            "offset": m.offset(),
            "key": tohex(m.key()),
            "value": tohex(m.value()),
            "headers": [[k, tohex(v)] for k, v in (m.headers() or [])],
            "timestamp": ts,
            "timestamp_type": ts_type,
        })
    c.close()
    for r in out:
        print(json.dumps(r))


def mock(args):
    holder = ck.Producer({"test.mock.num.brokers": args.brokers})
    md = holder.list_topics(timeout=10)
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in md.brokers.values())
    print(f"bootstrap={bootstrap}", flush=True)
    sys.stdin.readline()


def topics(args):
    a = AdminClient({"bootstrap.servers": args.bootstrap})
    md = a.list_topics(timeout=10)
    print(json.dumps({n: len(t.partitions) for n, t in md.topics.items()}))


def create_topic(args):
    from confluent_kafka.admin import NewTopic
    a = AdminClient({"bootstrap.servers": args.bootstrap})
    fs = a.create_topics([NewTopic(args.topic, num_partitions=args.partitions)], request_timeout=15)
    for f in fs.values():
        f.result()


def describe_configs(args):
    from confluent_kafka.admin import ConfigResource
    a = AdminClient({"bootstrap.servers": args.bootstrap})
    fs = a.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, args.topic)], request_timeout=15)
    # Every config with a value: tansu reports topic-level settings as defaults (source 5,
    # is_default true), so is_default cannot tell them apart there.
    out = {}
    for f in fs.values():
        for name, entry in f.result().items():
            if entry.value is not None:
                out[name] = entry.value
    print(json.dumps(out))


def committed(args):
    c = ck.Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.group,
                     "enable.auto.commit": False, "session.timeout.ms": 6000})
    md = c.list_topics(args.topic, timeout=10)
    parts = [ck.TopicPartition(args.topic, p) for p in sorted(md.topics[args.topic].partitions)]
    out = {str(tp.partition): tp.offset for tp in c.committed(parts, timeout=10)}
    c.close()
    print(json.dumps(out))


def member(args):
    import threading
    c = ck.Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.group,
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "session.timeout.ms": 6000})
    c.subscribe([args.topic])
    deadline = time.time() + 60
    while not c.assignment():
        if time.time() > deadline:
            sys.exit("no assignment within 60 s")
        c.poll(0.2)
    c.commit(offsets=[ck.TopicPartition(args.topic, 0, args.commit)], asynchronous=False)
    print("joined", flush=True)
    closed = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), closed.set()), daemon=True).start()
    while not closed.is_set():
        c.poll(0.2)
    c.close()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("produce")
    p.add_argument("--bootstrap", required=True)
    c = sub.add_parser("consume")
    c.add_argument("--bootstrap", required=True)
    c.add_argument("--topic", required=True)
    c.add_argument("--isolation", default="read_committed")
    c.add_argument("--timeout", type=float, default=60)
    c.add_argument("--config", default="{}")
    mk = sub.add_parser("mock")
    mk.add_argument("--brokers", type=int, default=1)
    t = sub.add_parser("topics")
    t.add_argument("--bootstrap", required=True)
    ct = sub.add_parser("create-topic")
    ct.add_argument("--bootstrap", required=True)
    ct.add_argument("--topic", required=True)
    ct.add_argument("--partitions", type=int, default=1)
    dc = sub.add_parser("describe-configs")
    dc.add_argument("--bootstrap", required=True)
    dc.add_argument("--topic", required=True)
    cm = sub.add_parser("committed")
    cm.add_argument("--bootstrap", required=True)
    cm.add_argument("--group", required=True)
    cm.add_argument("--topic", required=True)
    mb = sub.add_parser("member")
    mb.add_argument("--bootstrap", required=True)
    mb.add_argument("--group", required=True)
    mb.add_argument("--topic", required=True)
    mb.add_argument("--commit", type=int, required=True)
    args = ap.parse_args()
    {"member": member, "produce": produce, "consume": consume, "mock": mock, "topics": topics,
     "committed": committed, "create-topic": create_topic, "describe-configs": describe_configs}[args.cmd](args)


if __name__ == "__main__":
    main()
