//! The link server's REST API secured, as a user runs it: `clusterlink server` with TLS and
//! mTLS, basic and bearer authentication, roles, limits against slow clients, and the rule that
//! a link's stored credentials never go to an address a caller chooses.
//!
//! Each test starts the real binary over the run's shared Kafka cluster (its state in a topic
//! of its own) and talks to it through our own REST client, or raw sockets where a test must see
//! headers or send half a request. The server logs at debug level, and tests that send secrets
//! check that none reaches its log.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use clusterlink_model::SecretValue;
use clusterlink_reconcile::rest_client::{RestAuth, RestClient, RestError, RestTlsMaterial};
use clusterlink_testkit::kafka::unique_name;
use clusterlink_testkit::peer::{Peer, Side};
use clusterlink_testkit::pki::TestPki;
use clusterlink_testkit::{free_port, peer_tests};
use serde_json::{json, Value};

mod server;

use server::{arg, assert_refused, basic, endpoint, htpasswd, http, status_of, write, Server};

const ALICE_PW: &str = "alice-very-secret-pw";

/// HTTPS with basic authentication, through our own REST client with the CA: the right password
/// reads the API; a wrong or missing one is a 401 with Confluent's body and a `WWW-Authenticate`
/// challenge, and neither the password tried nor the right one is in any answer or in the log.
async fn https_with_basic_auth_works_through_the_rest_client(peer: Peer) {
    let b = peer.cluster(Side::A).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::for_names(&["127.0.0.1"]).unwrap();
    let cert = write(dir.path(), "tls.crt", &pki.cert_pem);
    let key = write(dir.path(), "tls.key", &pki.key_pem);
    let users = htpasswd(dir.path(), &[("alice", ALICE_PW)]);
    let s = Server::start(
        &b.bootstrap(),
        dir.path(),
        &[
            "--rest-tls-cert",
            arg(&cert),
            "--rest-tls-key",
            arg(&key),
            "--rest-basic-auth-file",
            arg(&users),
        ],
    );
    assert!(s.log().contains("serving https://"), "{}", s.log());
    let tls = RestTlsMaterial {
        ca_pem: Some(SecretValue::new(pki.ca_pem.clone())),
        client_cert: None,
    };
    let url = format!("https://{}", s.addr);
    let client = |password: &str| {
        RestClient::new(&endpoint(
            url.clone(),
            RestAuth::Basic {
                username: "alice".into(),
                password: SecretValue::new(password),
            },
            tls.clone(),
        ))
        .unwrap()
    };
    let id = client(ALICE_PW).cluster_id().await.unwrap();
    assert_eq!(id, b.cluster_id());
    assert!(client(ALICE_PW).links(&id).await.unwrap().is_empty());

    let wrong = "mallory-guess-123";
    let e = client(wrong).cluster_id().await.unwrap_err();
    assert_eq!(status_of(&e), Some((401, Some(40101))), "{e}");
    assert!(!e.to_string().contains(wrong), "{e}");
    let anonymous = RestClient::new(&endpoint(url.clone(), RestAuth::None, tls.clone())).unwrap();
    let e = anonymous.cluster_id().await.unwrap_err();
    assert_eq!(status_of(&e), Some((401, Some(40101))), "{e}");
    // The password is never offered over plain HTTP: the client refuses before sending.
    let refused = RestClient::new(&endpoint(
        format!("http://{}", s.addr),
        RestAuth::Basic {
            username: "alice".into(),
            password: SecretValue::new(ALICE_PW),
        },
        RestTlsMaterial::default(),
    ))
    .map(drop)
    .unwrap_err();
    assert!(refused.to_string().contains("plain HTTP"), "{refused}");
    assert!(!refused.to_string().contains(ALICE_PW), "{refused}");
    // And plain HTTP to the TLS listener gets no API.
    let plain = RestClient::new(&endpoint(
        format!("http://{}", s.addr),
        RestAuth::None,
        RestTlsMaterial::default(),
    ))
    .unwrap();
    assert!(plain.cluster_id().await.is_err());

    let log = s.log();
    assert!(log.contains("REST request refused"), "{log}");
    assert!(!log.contains(wrong), "the tried password leaked: {log}");
    assert!(!log.contains(ALICE_PW), "the password leaked: {log}");
}

/// TLS material is read again when its files change: after the certificate and key are
/// replaced by ones of another CA, new connections get the new certificate (a client trusting
/// only the new CA gets in, one trusting only the old one no longer does), without a restart.
async fn tls_material_is_read_again_when_its_files_change(peer: Peer) {
    let b = peer.cluster(Side::A).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let old = TestPki::for_names(&["127.0.0.1"]).unwrap();
    let new = TestPki::for_names(&["127.0.0.1"]).unwrap();
    let cert = write(dir.path(), "tls.crt", &old.cert_pem);
    let key = write(dir.path(), "tls.key", &old.key_pem);
    let s = Server::start(
        &b.bootstrap(),
        dir.path(),
        &["--rest-tls-cert", arg(&cert), "--rest-tls-key", arg(&key)],
    );
    let trusting = |pki: &TestPki| {
        RestClient::new(&endpoint(
            format!("https://{}", s.addr),
            RestAuth::None,
            RestTlsMaterial {
                ca_pem: Some(SecretValue::new(pki.ca_pem.clone())),
                client_cert: None,
            },
        ))
        .unwrap()
    };
    assert_eq!(trusting(&old).cluster_id().await.unwrap(), b.cluster_id());
    assert!(trusting(&new).cluster_id().await.is_err());
    // (a second later, so that the modification times differ on any file system)
    std::thread::sleep(Duration::from_millis(1100));
    write(dir.path(), "tls.crt", &new.cert_pem);
    write(dir.path(), "tls.key", &new.key_pem);
    assert_eq!(trusting(&new).cluster_id().await.unwrap(), b.cluster_id());
    let e = trusting(&old).cluster_id().await.unwrap_err();
    assert!(matches!(e, RestError::Transport { .. }), "{e}");
    assert!(s.log().contains("TLS material reloaded"), "{}", s.log());
}

/// Basic authentication's refusals on the wire (plain HTTP, to see the headers): 401, Confluent's
/// body (40101) and a `WWW-Authenticate: Basic` challenge, without the password; the public
/// paths need nothing.
async fn wrong_or_missing_credentials_get_401_with_the_body_and_the_challenge(peer: Peer) {
    let b = peer.cluster(Side::A).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let users = htpasswd(dir.path(), &[("alice", ALICE_PW)]);
    let s = Server::start(
        &b.bootstrap(),
        dir.path(),
        &["--rest-basic-auth-file", arg(&users)],
    );
    let wrong = "not-alices-password-42";
    for headers in [
        vec![],
        vec![("Authorization", basic("alice", wrong))],
        vec![("Authorization", basic("nobody", wrong))],
        vec![("Authorization", "Bearer some.token.value".to_owned())],
    ] {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let a = http(&s.addr, "GET", "/kafka/v3/clusters", &h, "");
        assert_refused(&a, 401, 40101);
        let challenge = a.header("www-authenticate");
        assert!(
            challenge.iter().any(|c| c.starts_with("Basic realm=")),
            "{a:?}"
        );
        assert!(!a.head.contains(wrong) && !a.body.contains(wrong), "{a:?}");
    }
    let ok = http(
        &s.addr,
        "GET",
        "/kafka/v3/clusters",
        &[("Authorization", &basic("alice", ALICE_PW))],
        "",
    );
    assert_eq!(ok.status, 200, "{ok:?}");
    for public in ["/healthz", "/readyz", "/metrics", "/openapi.yaml"] {
        assert_eq!(
            http(&s.addr, "GET", public, &[], "").status,
            200,
            "{public}"
        );
    }
    let log = s.log();
    assert!(!log.contains(wrong) && !log.contains(ALICE_PW), "{log}");
}

/// Roles from the roles file: a viewer reads (200) but cannot delete (403, 40301, naming the
/// role it lacks); an operator may change links but not topics; an admin may change topics.
async fn a_viewer_gets_403_on_delete_and_200_on_get(peer: Peer) {
    let b = peer.cluster(Side::A).unwrap();
    let id = b.cluster_id();
    let dir = tempfile::tempdir().unwrap();
    let users = htpasswd(
        dir.path(),
        &[("vera", "vera-pw"), ("otto", "otto-pw"), ("ada", "ada-pw")],
    );
    let roles = write(
        dir.path(),
        "roles.yaml",
        "viewer: ['*']\noperator: [otto]\nadmin: [ada]\n",
    );
    let s = Server::start(
        &b.bootstrap(),
        dir.path(),
        &[
            "--rest-basic-auth-file",
            arg(&users),
            "--rest-roles-file",
            arg(&roles),
        ],
    );
    let as_ = |user: &str, pw: &str, method: &str, path: &str, body: &str| {
        let auth = basic(user, pw);
        http(&s.addr, method, path, &[("Authorization", &auth)], body)
    };
    let links = format!("/kafka/v3/clusters/{id}/links");
    let topic = unique_name("rest-roles");
    assert_eq!(as_("vera", "vera-pw", "GET", &links, "").status, 200);
    let a = as_(
        "vera",
        "vera-pw",
        "DELETE",
        &format!("{links}/no-such-link"),
        "",
    );
    assert_refused(&a, 403, 40301);
    assert!(
        a.json()["message"].as_str().unwrap().contains("operator"),
        "{a:?}"
    );
    // The operator gets past authorisation (the link does not exist: 404), not to topics.
    let a = as_(
        "otto",
        "otto-pw",
        "DELETE",
        &format!("{links}/no-such-link"),
        "",
    );
    assert_eq!(a.status, 404, "{a:?}");
    let create = json!({"topic_name": topic, "partitions_count": 1}).to_string();
    let topics = format!("/kafka/v3/clusters/{id}/topics");
    let a = as_("otto", "otto-pw", "POST", &topics, &create);
    assert_refused(&a, 403, 40301);
    let a = as_("ada", "ada-pw", "POST", &topics, &create);
    assert!(a.status == 200 || a.status == 201, "{a:?}");
    let a = as_(
        "vera",
        "vera-pw",
        "DELETE",
        &format!("{topics}/{topic}"),
        "",
    );
    assert_refused(&a, 403, 40301);
    let a = as_("ada", "ada-pw", "DELETE", &format!("{topics}/{topic}"), "");
    assert_eq!(a.status, 204, "{a:?}");
}

/// Mutual TLS: a client certificate of the configured CA authenticates, and its subject's CN is
/// the principal the roles file names (a viewer's CN may read but not delete; an operator's may
/// delete); no certificate is a 401.
async fn mtls_works_and_the_principal_is_the_cn(peer: Peer) {
    let b = peer.cluster(Side::A).unwrap();
    let id = b.cluster_id();
    let dir = tempfile::tempdir().unwrap();
    let (pki, clients) = TestPki::with_clients(&["127.0.0.1"], &["reader-cn", "ops-cn"]).unwrap();
    let cert = write(dir.path(), "tls.crt", &pki.cert_pem);
    let key = write(dir.path(), "tls.key", &pki.key_pem);
    let ca = write(dir.path(), "client-ca.pem", &pki.ca_pem);
    let roles = write(
        dir.path(),
        "roles.yaml",
        "viewer: [reader-cn]\noperator: [ops-cn]\n",
    );
    let s = Server::start(
        &b.bootstrap(),
        dir.path(),
        &[
            "--rest-tls-cert",
            arg(&cert),
            "--rest-tls-key",
            arg(&key),
            "--rest-client-ca",
            arg(&ca),
            "--rest-roles-file",
            arg(&roles),
        ],
    );
    let url = format!("https://{}", s.addr);
    let client = |identity: Option<usize>| {
        RestClient::new(&endpoint(
            url.clone(),
            RestAuth::None,
            RestTlsMaterial {
                ca_pem: Some(SecretValue::new(pki.ca_pem.clone())),
                client_cert: identity.map(|i| {
                    (
                        SecretValue::new(clients[i].cert_pem.clone()),
                        SecretValue::new(clients[i].key_pem.clone()),
                    )
                }),
            },
        ))
        .unwrap()
    };
    assert_eq!(client(Some(0)).cluster_id().await.unwrap(), id);
    let e = client(Some(0))
        .delete_link(&id, "no-such-link", false)
        .await
        .unwrap_err();
    assert_eq!(status_of(&e), Some((403, Some(40301))), "{e}");
    assert!(e.to_string().contains("'reader-cn'"), "{e}");
    // The operator's CN gets past authorisation to the API's own answer.
    let e = client(Some(1))
        .delete_link(&id, "no-such-link", false)
        .await
        .unwrap_err();
    assert_eq!(status_of(&e).map(|s| s.0), Some(404), "{e}");
    let e = client(None).cluster_id().await.unwrap_err();
    assert_eq!(status_of(&e), Some((401, Some(40101))), "{e}");
}

/// Bearer tokens: a JWT signed by the configured key, with the issuer and audience, is accepted
/// and its `sub` is the principal, while basic authentication works beside it; an expired one, one for another audience, one signed by
/// another key and garbage are 401s that say why, with a `Bearer` challenge, and no token is in
/// the log.
async fn a_bad_or_expired_jwt_gets_401_and_a_good_one_200(peer: Peer) {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    let b = peer.cluster(Side::A).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let signer = rcgen::KeyPair::generate().unwrap();
    let other = rcgen::KeyPair::generate().unwrap();
    let public = write(dir.path(), "jwt.pub.pem", &signer.public_key_pem());
    let users = htpasswd(dir.path(), &[("alice", ALICE_PW)]);
    let roles = write(
        dir.path(),
        "roles.yaml",
        "viewer: [svc-reader]\nadmin: [alice]\n",
    );
    let s = Server::start(
        &b.bootstrap(),
        dir.path(),
        &[
            "--rest-jwt-public-key",
            arg(&public),
            "--rest-jwt-issuer",
            "https://idp.example",
            "--rest-jwt-audience",
            "clusterlink",
            "--rest-roles-file",
            arg(&roles),
            "--rest-basic-auth-file",
            arg(&users),
        ],
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let token = |key: &rcgen::KeyPair, exp: i64, aud: &str| {
        encode(
            &Header::new(Algorithm::ES256),
            &json!({"sub": "svc-reader", "iss": "https://idp.example", "aud": aud,
                    "exp": exp, "nbf": now - 10}),
            &EncodingKey::from_ec_pem(key.serialize_pem().as_bytes()).unwrap(),
        )
        .unwrap()
    };
    let good = token(&signer, now + 600, "clusterlink");
    let get = |t: &str| {
        let h = format!("Bearer {t}");
        http(
            &s.addr,
            "GET",
            "/kafka/v3/clusters",
            &[("Authorization", &h)],
            "",
        )
    };
    assert_eq!(get(&good).status, 200);
    // Several methods at once: basic works beside bearer, and a refusal names both.
    let a = http(
        &s.addr,
        "GET",
        "/kafka/v3/clusters",
        &[("Authorization", &basic("alice", ALICE_PW))],
        "",
    );
    assert_eq!(a.status, 200, "{a:?}");
    let a = http(&s.addr, "GET", "/kafka/v3/clusters", &[], "");
    assert_refused(&a, 401, 40101);
    let challenges = a.header("www-authenticate");
    assert!(
        challenges.iter().any(|c| c.starts_with("Basic "))
            && challenges.iter().any(|c| c.starts_with("Bearer ")),
        "{a:?}"
    );
    // The principal is `sub`: the roles file makes it a viewer.
    let h = format!("Bearer {good}");
    let a = http(
        &s.addr,
        "DELETE",
        "/kafka/v3/clusters/x/links/y",
        &[("Authorization", &h)],
        "",
    );
    assert_refused(&a, 403, 40301);
    assert!(a.body.contains("'svc-reader'"), "{a:?}");
    let mut bad = Vec::new();
    for (t, why) in [
        (token(&signer, now - 3600, "clusterlink"), "expired"),
        (token(&signer, now + 600, "someone-else"), "wrong audience"),
        (token(&other, now + 600, "clusterlink"), "bad signature"),
        ("not-a-jwt".to_owned(), "malformed"),
    ] {
        let a = get(&t);
        assert_refused(&a, 401, 40101);
        assert!(
            a.json()["message"].as_str().unwrap().contains(why),
            "{why}: {a:?}"
        );
        assert!(
            a.header("www-authenticate")
                .iter()
                .any(|c| c.starts_with("Bearer realm=") && c.contains("invalid_token")),
            "{a:?}"
        );
        assert!(!a.body.contains(&t), "{a:?}");
        bad.push(t);
    }
    let log = s.log();
    for t in bad.iter().chain([&good]) {
        assert!(
            !log.contains(t.as_str()),
            "a token leaked into the log: {log}"
        );
    }
}

/// Stored credentials cannot be redirected: altering `bootstrap.servers` of a link that keeps
/// a SASL password, without sending the password again, is a 400 that says so, and the server
/// opens no connection to the new address (a listener the test holds), not even with
/// `validate_only`. Sending the password again does reach the address (the trap works), and the
/// failure says no more than "unreachable". A link config naming a file on the server is a 400.
async fn altering_the_address_without_the_password_is_refused_and_nothing_connects(peer: Peer) {
    let b = peer.cluster(Side::A).unwrap();
    let id = b.cluster_id();
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&b.bootstrap(), dir.path(), &[]);
    let links = format!("/kafka/v3/clusters/{id}/links");
    let jaas = |pw: &str| {
        format!(
            "org.apache.kafka.common.security.plain.PlainLoginModule required \
             username=\"linker\" password=\"{pw}\";"
        )
    };
    let stored_pw = "stored-link-password-77";
    // Not validated: the link is stored with its password whatever its address answers.
    let nowhere = format!("127.0.0.1:{}", free_port());
    let create = json!({"source_cluster_id": "elsewhere", "configs": [
        {"name": "bootstrap.servers", "value": nowhere},
        {"name": "security.protocol", "value": "SASL_PLAINTEXT"},
        {"name": "sasl.mechanism", "value": "PLAIN"},
        {"name": "sasl.jaas.config", "value": jaas(stored_pw)}]});
    let a = http(
        &s.addr,
        "POST",
        &format!("{links}?link_name=guarded&validate_link=false"),
        &[],
        &create.to_string(),
    );
    assert_eq!(a.status, 204, "{a:?}");

    let trap = TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let trap_addr = trap.local_addr().unwrap().to_string();
    let alter = |validate_only: bool, data: Value| {
        http(
            &s.addr,
            "POST",
            &format!("{links}/guarded/configs:alter?validate_only={validate_only}"),
            &[],
            &json!({ "data": data }).to_string(),
        )
    };
    for validate_only in [true, false] {
        for data in [
            json!([{"name": "bootstrap.servers", "value": trap_addr}]),
            json!([{"name": "bootstrap.servers", "value": trap_addr},
                   {"name": "security.protocol", "value": "SASL_PLAINTEXT"}]),
        ] {
            let a = alter(validate_only, data);
            assert_eq!(a.status, 400, "{a:?}");
            let m = a.json()["message"].as_str().unwrap().to_owned();
            assert!(
                m.contains("sasl.jaas.config") && m.contains("credentials"),
                "{m}"
            );
        }
    }
    let a = alter(
        false,
        json!([{"name": "security.protocol", "value": "PLAINTEXT"}]),
    );
    assert_eq!(a.status, 400, "{a:?}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        trap.accept().is_err(),
        "the server connected to the address a caller gave it"
    );

    // With the password sent again, the server does try the new address: the trap sees it, and
    // the answer says unreachable, nothing of what the address said or did.
    let a = alter(
        true,
        json!([{"name": "bootstrap.servers", "value": trap_addr},
               {"name": "sasl.jaas.config", "value": jaas("a-new-password")}]),
    );
    assert!(a.status >= 400, "{a:?}");
    let m = a.json()["message"].as_str().unwrap().to_owned();
    assert!(m.contains("unreachable"), "{m}");
    let start = Instant::now();
    let connected = loop {
        if trap.accept().is_ok() {
            break true;
        }
        if start.elapsed() > Duration::from_secs(10) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        connected,
        "with the credentials sent again the server must try the address"
    );

    // Files on the server may not be named, on a new link or an existing one.
    let a = alter(
        false,
        json!([{"name": "ssl.truststore.location", "value": "/etc/passwd"}]),
    );
    assert_eq!(a.status, 400, "{a:?}");
    assert!(
        a.body.contains("ssl.truststore.location") && a.body.contains("PEM"),
        "{a:?}"
    );
    let a = http(
        &s.addr,
        "POST",
        &format!("{links}?link_name=filed&validate_link=false"),
        &[],
        &json!({"source_cluster_id": "elsewhere", "configs": [
            {"name": "bootstrap.servers", "value": nowhere},
            {"name": "security.protocol", "value": "SSL"},
            {"name": "ssl.keystore.location", "value": "/etc/shadow"}]})
        .to_string(),
    );
    assert_eq!(a.status, 400, "{a:?}");
    assert!(!s.log().contains(stored_pw), "the stored password leaked");
}

/// Limits: a client that opens connections and sends half a request's headers (slowloris)
/// does not stop another from getting answers within a few seconds, and its connection is
/// closed after the header timeout; a body over the limit is a 413. Listening on every
/// address without authentication is loudly warned about.
async fn a_slowloris_client_does_not_starve_others(peer: Peer) {
    let b = peer.cluster(Side::A).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_on(
        &b.bootstrap(),
        dir.path(),
        "0.0.0.0",
        &[
            "--rest-header-read-timeout",
            "2s",
            "--rest-max-body-bytes",
            "1000",
            "--rest-max-concurrent-requests",
            "4",
        ],
    );
    assert!(
        s.log().contains("OPEN TO ANYONE"),
        "no warning for an open non-loopback listener: {}",
        s.log()
    );
    let mut slow = Vec::new();
    for _ in 0..100 {
        let mut c = TcpStream::connect(&s.addr).unwrap();
        c.write_all(b"GET /kafka/v3/clusters HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .unwrap();
        slow.push(c);
    }
    let started = Instant::now();
    for _ in 0..5 {
        let a = http(&s.addr, "GET", "/kafka/v3/clusters", &[], "");
        assert_eq!(a.status, 200, "{a:?}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answers took {:?} beside slow clients",
        started.elapsed()
    );
    // The server gives up on the half-sent headers: the connection is closed (EOF or reset).
    let c = &mut slow[0];
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 512];
    let closed_at = Instant::now();
    let n = c.read(&mut buf);
    assert!(
        n.is_ok()
            || n.as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "{n:?}"
    );
    assert!(closed_at.elapsed() < Duration::from_secs(8), "not closed");
    let big = "x".repeat(5000);
    let a = http(
        &s.addr,
        "POST",
        &format!("/kafka/v3/clusters/{}/topics", b.cluster_id()),
        &[],
        &big,
    );
    assert_eq!(a.status, 413, "{a:?}");
    // In Confluent's body, like every other refusal.
    let body: Value = serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("{e}: {a:?}"));
    assert_eq!(body["error_code"], 413, "{a:?}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("larger than"),
        "{a:?}"
    );
}

/// `clusterlink status --url` reads a secured link server as a user would: over https with
/// the CA of `--ca-cert-path`, as a basic-auth user whose password comes from the environment
/// or a file, or with a client certificate; the table shows the link. A wrong password is a
/// clear error that shows neither password, and credentials are never sent over plain http.
async fn status_url_reads_a_secured_server_with_basic_auth_or_a_client_certificate(peer: Peer) {
    let (b, source) = (
        peer.cluster(Side::A).unwrap(),
        peer.cluster(Side::B).unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let (pki, clients) = TestPki::with_clients(&["127.0.0.1"], &["ops-cn"]).unwrap();
    let cert = write(dir.path(), "tls.crt", &pki.cert_pem);
    let key = write(dir.path(), "tls.key", &pki.key_pem);
    let ca = write(dir.path(), "ca.pem", &pki.ca_pem);
    let client_cert = write(dir.path(), "client.crt", &clients[0].cert_pem);
    let client_key = write(dir.path(), "client.key", &clients[0].key_pem);
    let users = htpasswd(dir.path(), &[("alice", ALICE_PW)]);
    let s = Server::start(
        &b.bootstrap(),
        dir.path(),
        &[
            "--rest-tls-cert",
            arg(&cert),
            "--rest-tls-key",
            arg(&key),
            "--rest-client-ca",
            arg(&ca),
            "--rest-basic-auth-file",
            arg(&users),
        ],
    );
    let url = format!("https://{}", s.addr);
    let tls = RestTlsMaterial {
        ca_pem: Some(SecretValue::new(pki.ca_pem.clone())),
        client_cert: None,
    };
    let alice = RestAuth::Basic {
        username: "alice".into(),
        password: SecretValue::new(ALICE_PW),
    };
    let rest = RestClient::new(&endpoint(url.clone(), alice, tls)).unwrap();
    let link = unique_name("secured-link");
    let configs = [(
        "bootstrap.servers".to_string(),
        clusterlink_model::configs::ConfigValue::Plain(source.bootstrap()),
    )]
    .into();
    let ids = clusterlink_reconcile::rest_client::CreateLinkIds {
        source_cluster_id: Some(source.cluster_id()),
        ..Default::default()
    };
    rest.create_link(&b.cluster_id(), &link, &ids, &configs)
        .await
        .unwrap();

    let status = |args: &[&str], env: &[(&str, &str)]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_clusterlink"))
            .args(["status", "--url", &url, "--request-timeout", "10s"])
            .args(args)
            .env_remove("CLUSTERLINK_REST_PASSWORD")
            .env_remove("CLUSTERLINK_REST_TOKEN")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        (o.status.code(), text)
    };
    let row = |text: &str| {
        text.lines().any(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .starts_with(&[&link, "ACTIVE"])
        })
    };
    // Basic, the password from the environment.
    let ca_flag = ["--ca-cert-path", arg(&ca)];
    let (code, out) = status(
        &[&ca_flag[..], &["--username", "alice"]].concat(),
        &[("CLUSTERLINK_REST_PASSWORD", ALICE_PW)],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(row(&out), "{out}");
    // From a file.
    let pw = write(dir.path(), "pw", &format!("{ALICE_PW}\n"));
    let (code, out) = status(
        &[
            &ca_flag[..],
            &["--username", "alice", "--password-file", arg(&pw)],
        ]
        .concat(),
        &[],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(row(&out), "{out}");
    // A client certificate instead.
    let mtls = [
        "--client-cert-path",
        arg(&client_cert),
        "--client-key-path",
        arg(&client_key),
    ];
    let (code, out) = status(&[&ca_flag[..], &mtls[..]].concat(), &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(row(&out), "{out}");
    // A wrong password: refused, said, and shown nowhere.
    let wrong = "not-alices-password";
    let (code, out) = status(
        &[&ca_flag[..], &["--username", "alice"]].concat(),
        &[("CLUSTERLINK_REST_PASSWORD", wrong)],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("401"), "{out}");
    assert!(!out.contains(wrong) && !out.contains(ALICE_PW), "{out}");
    // Without the CA, the server's certificate is not trusted.
    let (code, out) = status(
        &["--username", "alice"],
        &[("CLUSTERLINK_REST_PASSWORD", ALICE_PW)],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(!row(&out), "{out}");
    // Credentials over plain http are refused before anything is sent.
    let plain = url.replace("https://", "http://");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_clusterlink"))
        .args(["status", "--url", &plain, "--username", "alice"])
        .env("CLUSTERLINK_REST_PASSWORD", ALICE_PW)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("plain HTTP"), "{err}");
    assert!(!s.log().contains(ALICE_PW), "the password reached the log");
}

/// A PEM text as an indented YAML block scalar (`|` then each line at `indent` spaces).
fn block(pem: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let lines: Vec<String> = pem.lines().map(|l| format!("{pad}{l}")).collect();
    format!("|\n{}", lines.join("\n"))
}

/// `clusterlink apply` reaches a link server that accepts only client certificates, as CFK's
/// KafkaRestClass says: `kafkaRest.tls` names a Secret with `cacerts.pem`, `fullchain.pem` and
/// `privkey.pem`, and `authentication.type: mtls`. The link is created and mirrors; the same
/// files without the client certificate are refused (401) and nothing is created.
async fn apply_reaches_an_mtls_link_server_with_the_rest_class_tls_secret(peer: Peer) {
    let (b, source) = (
        peer.cluster(Side::A).unwrap(),
        peer.cluster(Side::B).unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let (pki, clients) = TestPki::with_clients(&["127.0.0.1"], &["ops-cn"]).unwrap();
    let cert = write(dir.path(), "tls.crt", &pki.cert_pem);
    let key = write(dir.path(), "tls.key", &pki.key_pem);
    let ca = write(dir.path(), "ca.pem", &pki.ca_pem);
    let s = Server::start(
        &b.bootstrap(),
        dir.path(),
        &[
            "--rest-tls-cert",
            arg(&cert),
            "--rest-tls-key",
            arg(&key),
            "--rest-client-ca",
            arg(&ca),
        ],
    );
    let orders = unique_name("orders");
    clusterlink_testkit::rdkafka::create_topic(&source.bootstrap(), &orders, 1).unwrap();
    let records = clusterlink_testkit::rdkafka::varied_records(25, 1, "mtls");
    clusterlink_testkit::rdkafka::produce_all(&source.bootstrap(), &orders, &records);
    let link = unique_name("mtls-link");
    let manifests = |with_client_cert: bool| {
        let client = if with_client_cert {
            format!(
                "  fullchain.pem: {}\n  privkey.pem: {}\n",
                block(&clients[0].cert_pem, 4),
                block(&clients[0].key_pem, 4)
            )
        } else {
            String::new()
        };
        let auth = if with_client_cert {
            "\n    authentication: {type: mtls}"
        } else {
            ""
        };
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: rest-tls, namespace: destination}}\n\
             stringData:\n  cacerts.pem: {}\n{client}---\n\
             apiVersion: platform.confluent.io/v1beta1\nkind: KafkaRestClass\n\
             metadata: {{name: dest-rest, namespace: destination}}\nspec:\n  kafkaRest:\n\
             \x20   endpoint: https://{}\n    tls: {{secretRef: rest-tls}}{auth}\n---\n\
             apiVersion: platform.confluent.io/v1beta1\nkind: ClusterLink\n\
             metadata: {{name: demo, namespace: destination}}\nspec:\n  name: {link}\n\
             \x20 destinationKafkaCluster: {{kafkaRestClassRef: {{name: dest-rest}}}}\n\
             \x20 sourceKafkaCluster: {{bootstrapEndpoint: \"{}\", clusterID: {}}}\n\
             \x20 mirrorTopics:\n    - name: {orders}\n",
            block(&pki.ca_pem, 4),
            s.addr,
            source.bootstrap(),
            source.cluster_id(),
        )
    };
    let apply = |text: String| {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("link.yaml"), text).unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_clusterlink"))
            .args(["apply", "--retry-for", "5s", "-f"])
            .arg(d.path())
            .output()
            .unwrap();
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        (o.status.code(), out)
    };
    // Without a client certificate: refused, nothing created.
    let (code, out) = apply(manifests(false));
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("401"), "{out}");
    assert!(!out.contains("PRIVATE KEY"), "{out}");
    // With it: created, and the records arrive.
    let (code, out) = apply(manifests(true));
    assert_eq!(code, Some(0), "{out}");
    let start = Instant::now();
    while clusterlink_testkit::rdkafka::consume(&b.bootstrap(), &orders)
        .map(|r| r.len())
        .unwrap_or(0)
        < 25
    {
        assert!(start.elapsed() < Duration::from_secs(60), "not mirrored");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        s.log().contains("ops-cn"),
        "the principal is the CN: {}",
        s.log()
    );
}

peer_tests! {
    apply_reaches_an_mtls_link_server_with_the_rest_class_tls_secret: [kafka];
    status_url_reads_a_secured_server_with_basic_auth_or_a_client_certificate: [kafka];
    https_with_basic_auth_works_through_the_rest_client: [kafka];
    tls_material_is_read_again_when_its_files_change: [kafka];
    wrong_or_missing_credentials_get_401_with_the_body_and_the_challenge: [kafka];
    a_viewer_gets_403_on_delete_and_200_on_get: [kafka];
    mtls_works_and_the_principal_is_the_cn: [kafka];
    a_bad_or_expired_jwt_gets_401_and_a_good_one_200: [kafka];
    altering_the_address_without_the_password_is_refused_and_nothing_connects: [kafka];
    a_slowloris_client_does_not_starve_others: [kafka];
}
