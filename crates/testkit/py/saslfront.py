"""A SASL front for a test broker: tansu can only enable SCRAM with users it cannot keep
(test-brokers.md), so this front authenticates clients itself, as a Kafka broker does, and then
forwards the connection's bytes to --target, both ways. Prints "ready" once listening.

Per connection, before authentication:
  - ApiVersions is relayed to the broker and its answer back (tansu lists SaslHandshake and
    SaslAuthenticate);
  - SaslHandshake (v0 and v1) is answered here with the --mechanisms enabled;
  - SaslAuthenticate (v0 to v2) carries the exchange: PLAIN checked against --user NAME:PASSWORD,
    SCRAM-SHA-256 and SCRAM-SHA-512 by the `scramp` library (an independent SCRAM server
    implementation, none of our code);
  - anything else closes the connection, as a Kafka broker does; with --allow-unauthenticated it
    is forwarded instead and the connection spliced unauthenticated, as if the client had come
    through a second, PLAINTEXT listener (tansu advertises one address only), which lets a test
    set up data with plain clients while the client under test authenticates.
A user may be given several times: PLAIN accepts any of its passwords (a rotation in progress),
SCRAM the first (a broker stores one SCRAM credential per user and mechanism).
A failed authentication is answered as Apache Kafka answers it (SASL_AUTHENTICATION_FAILED, 58,
with Kafka's message) and the connection is closed. After success the bytes are spliced.
With --cert and --key the front speaks TLS (SASL_SSL)."""
import argparse
import asyncio
import ssl
import struct
import sys

from scramp import ScramException, ScramMechanism

from splice import pipe

API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE = 18, 17, 36
SCRAM = ("SCRAM-SHA-256", "SCRAM-SHA-512")


def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_uvarint(buf, pos):
    shift = value = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def skip_tags(buf, pos):
    n, pos = read_uvarint(buf, pos)
    for _ in range(n):
        _, pos = read_uvarint(buf, pos)
        size, pos = read_uvarint(buf, pos)
        pos += size
    return pos


async def read_frame(reader):
    size = struct.unpack(">i", await reader.readexactly(4))[0]
    return await reader.readexactly(size)


def frame(body):
    return struct.pack(">i", len(body)) + body


class Front:
    def __init__(self, args):
        self.target = args.target.rsplit(":", 1)
        self.mechanisms = [m.strip() for m in args.mechanisms.split(",") if m.strip()]
        self.users = {}
        for u in args.user:
            name, password = u.split(":", 1)
            self.users.setdefault(name, []).append(password)
        self.allow_unauthenticated = args.allow_unauthenticated
        self.iterations = args.iterations
        # SCRAM credentials as a broker stores them: salt, stored key, server key, iterations.
        self.scram = {}
        for name in SCRAM:
            m = ScramMechanism(name)
            for user, passwords in self.users.items():
                self.scram[(name, user)] = m.make_auth_info(
                    passwords[0], iteration_count=self.iterations)

    async def handle(self, client_reader, client_writer):
        broker_writer = None
        try:
            host, port = self.target
            broker_reader, broker_writer = await asyncio.open_connection(host, int(port))
            if await self.authenticate(client_reader, client_writer, broker_reader, broker_writer):
                await asyncio.gather(
                    pipe(client_reader, broker_writer), pipe(broker_reader, client_writer)
                )
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError, IndexError, struct.error):
            pass
        finally:
            for w in (client_writer, broker_writer):
                if w is not None:
                    try:
                        w.close()
                    except Exception:
                        pass

    async def authenticate(self, client_reader, client_writer, broker_reader, broker_writer):
        """Runs the SASL exchange; True once the client is authenticated."""
        mechanism = None
        server = None
        while True:
            req = await read_frame(client_reader)
            api_key, version, correlation_id = struct.unpack(">hhi", req[:8])
            client_id_len = struct.unpack(">h", req[8:10])[0]
            pos = 10 + max(client_id_len, 0)
            if api_key == API_VERSIONS:
                broker_writer.write(frame(req))
                await broker_writer.drain()
                client_writer.write(frame(await read_frame(broker_reader)))
                await client_writer.drain()
            elif api_key == SASL_HANDSHAKE and version <= 1:
                (n,) = struct.unpack(">h", req[pos:pos + 2])
                asked = req[pos + 2:pos + 2 + n].decode()
                ok = asked in self.mechanisms
                body = struct.pack(">ih", correlation_id, 0 if ok else 33)
                body += struct.pack(">i", len(self.mechanisms))
                for m in self.mechanisms:
                    body += struct.pack(">h", len(m)) + m.encode()
                client_writer.write(frame(body))
                await client_writer.drain()
                if not ok:
                    return False
                mechanism = asked
                if mechanism in SCRAM:
                    scram = ScramMechanism(mechanism)
                    server = scram.make_server(lambda user: self.scram.get((mechanism, user)))
            elif api_key == SASL_AUTHENTICATE and mechanism is not None and version <= 2:
                if version >= 2:
                    pos = skip_tags(req, pos)
                    n, pos = read_uvarint(req, pos)
                    token = req[pos:pos + n - 1]
                else:
                    (n,) = struct.unpack(">i", req[pos:pos + 4])
                    token = req[pos + 4:pos + 4 + n]
                reply, done, failed = self.step(mechanism, server, token)
                client_writer.write(frame(sasl_authenticate_response(
                    version, correlation_id, reply, mechanism if failed else None)))
                await client_writer.drain()
                if failed:
                    return False
                if done:
                    return True
            elif self.allow_unauthenticated and mechanism is None:
                broker_writer.write(frame(req))
                await broker_writer.drain()
                return True
            else:
                # Kafka closes a connection that sends anything else before authenticating.
                return False

    def step(self, mechanism, server, token):
        """(reply bytes, authenticated, failed) for one client token."""
        if mechanism == "PLAIN":
            parts = token.split(b"\0")
            if len(parts) != 3:
                return b"", False, True
            _authzid, user, password = (p.decode("utf-8", "replace") for p in parts)
            ok = password in self.users.get(user, [])
            return b"", ok, not ok
        try:
            if server.stage is None:
                server.set_client_first(token.decode())
                return server.get_server_first().encode(), False, False
            server.set_client_final(token.decode())
            return server.get_server_final().encode(), True, False
        except ScramException:
            return b"", False, True


def sasl_authenticate_response(version, correlation_id, auth_bytes, failed_mechanism):
    code = 0
    message = None
    if failed_mechanism is not None:
        code = 58  # SASL_AUTHENTICATION_FAILED, with Apache Kafka's message
        message = (
            "Authentication failed during authentication due to invalid credentials with "
            f"SASL mechanism {failed_mechanism}"
        ).encode()
    body = struct.pack(">i", correlation_id)
    if version >= 2:
        body += b"\0"  # response header tagged fields
        body += struct.pack(">h", code)
        body += uvarint(0) if message is None else uvarint(len(message) + 1) + message
        body += uvarint(len(auth_bytes) + 1) + auth_bytes
        body += struct.pack(">q", 0) + b"\0"
        return body
    body += struct.pack(">h", code)
    body += struct.pack(">h", -1) if message is None else struct.pack(">h", len(message)) + message
    body += struct.pack(">i", len(auth_bytes)) + auth_bytes
    if version >= 1:
        body += struct.pack(">q", 0)
    return body


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--mechanisms", default="PLAIN,SCRAM-SHA-256,SCRAM-SHA-512")
    ap.add_argument("--user", action="append", default=[], help="NAME:PASSWORD")
    ap.add_argument("--iterations", type=int, default=4096)
    ap.add_argument("--allow-unauthenticated", action="store_true")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    front = Front(args)
    ctx = None
    if args.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)
    server = await asyncio.start_server(front.handle, "127.0.0.1", args.listen, ssl=ctx)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
