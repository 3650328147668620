//! The encoder's unit tests: round trips, salts, the binding to link and config, the legacy
//! format written by the first version, rotation, refused secrets.

use super::*;

const SECRET: &str = "0123456789abcdef-current";
const JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";"#;

fn encoder() -> PasswordEncoder {
    PasswordEncoder::new(SECRET).unwrap()
}

/// What the first version wrote (`enc:v1:`), as it wrote it: kept here to prove such values
/// still decrypt.
fn legacy_encrypt(secret: &str, plain: &str) -> String {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::getrandom(&mut nonce).unwrap();
    let sealed = legacy_cipher(secret)
        .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
        .unwrap();
    format!("{LEGACY_PREFIX}{}{}", hex(&nonce), hex(&sealed))
}

fn salt_of(stored: &str) -> String {
    stored.strip_prefix(PREFIX).unwrap()[..2 * SALT_LEN].to_owned()
}

#[test]
fn round_trip_with_fresh_salts_and_nonces() {
    let e = encoder();
    let a = e.encrypt("l", "sasl.jaas.config", JAAS).unwrap();
    let b = e.encrypt("l", "sasl.jaas.config", JAAS).unwrap();
    assert_ne!(a, b);
    assert!(a.starts_with("enc:v2:"), "{a}");
    assert_ne!(salt_of(&a), salt_of(&b), "a fresh salt per value");
    assert!(PasswordEncoder::is_encrypted(&a));
    assert!(!a.contains("password") && !a.contains("PlainLoginModule"));
    for v in [&a, &b] {
        let d = e.decrypt("l", "sasl.jaas.config", v).unwrap();
        assert_eq!(d.value, JAAS);
        assert!(!d.stale);
    }
    // A new encoder of the same secret (a restarted server, an empty cache) reads them.
    assert_eq!(
        PasswordEncoder::new(SECRET)
            .unwrap()
            .decrypt("l", "sasl.jaas.config", &a)
            .unwrap()
            .value,
        JAAS
    );
    assert!(!format!("{:?}", e.decrypt("l", "sasl.jaas.config", &a)).contains("password"));
}

#[test]
fn a_value_is_bound_to_its_link_and_config() {
    let e = encoder();
    let a = e.encrypt("east", "sasl.jaas.config", JAAS).unwrap();
    for (link, config) in [
        ("west", "sasl.jaas.config"),
        ("east", "local.sasl.jaas.config"),
        ("eastsasl.jaas.config", ""),
    ] {
        assert_eq!(
            e.decrypt(link, config, &a),
            Err(SecretError::WrongSecret),
            "{link} {config}"
        );
    }
    assert_eq!(
        e.decrypt("east", "sasl.jaas.config", &a).unwrap().value,
        JAAS
    );
}

#[test]
fn legacy_values_still_decrypt_and_are_stale() {
    let old = legacy_encrypt(SECRET, JAAS);
    assert!(PasswordEncoder::is_encrypted(&old));
    let d = encoder().decrypt("any", "sasl.jaas.config", &old).unwrap();
    assert_eq!(d.value, JAAS);
    assert!(d.stale, "rewritten in the new format");
    // a legacy value of the old secret, during a rotation
    let rotated = PasswordEncoder::new("a-brand-new-secret-0000")
        .unwrap()
        .with_old_secret(SECRET);
    let d = rotated.decrypt("any", "sasl.jaas.config", &old).unwrap();
    assert_eq!((d.value.as_str(), d.stale), (JAAS, true));
    assert_eq!(
        PasswordEncoder::new("a-brand-new-secret-0000")
            .unwrap()
            .decrypt("any", "sasl.jaas.config", &old),
        Err(SecretError::WrongSecret)
    );
}

#[test]
fn the_old_secret_is_read_and_never_written() {
    let before = encoder().encrypt("l", "c", "v").unwrap();
    let rotated = PasswordEncoder::new("another-secret-of-length")
        .unwrap()
        .with_old_secret(SECRET);
    let d = rotated.decrypt("l", "c", &before).unwrap();
    assert_eq!((d.value.as_str(), d.stale), ("v", true));
    let after = rotated.encrypt("l", "c", &d.value).unwrap();
    assert!(!rotated.decrypt("l", "c", &after).unwrap().stale);
    assert_eq!(
        encoder().decrypt("l", "c", &after),
        Err(SecretError::WrongSecret),
        "written with the new secret only"
    );
    // the old secret may be short: it is the one being replaced
    let short_old = PasswordEncoder::new(SECRET)
        .unwrap()
        .with_old_secret("short");
    assert!(format!("{short_old:?}").contains("redacted"));
}

#[test]
fn another_secret_or_tampering_is_detected() {
    let a = encoder().encrypt("l", "c", "value").unwrap();
    let other = PasswordEncoder::new("not-the-secret-at-all").unwrap();
    assert_eq!(other.decrypt("l", "c", &a), Err(SecretError::WrongSecret));
    let mut tampered = a.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_eq!(
        encoder().decrypt("l", "c", &tampered),
        Err(SecretError::WrongSecret)
    );
    assert_eq!(
        encoder().decrypt("l", "c", "plain"),
        Err(SecretError::Format)
    );
    for bad in [
        format!("enc:v2:{}", "é".repeat(60)),
        format!("enc:v1:{}", "é".repeat(40)),
        "enc:v2:00".to_owned(),
    ] {
        assert_eq!(encoder().decrypt("l", "c", &bad), Err(SecretError::Format));
    }
    assert!(!format!("{:?}", encoder()).contains(SECRET));
}

#[test]
fn short_secrets_are_refused() {
    let Err(e) = PasswordEncoder::new("fifteen-chars!!") else {
        panic!("a 15-character secret must be refused");
    };
    assert_eq!(e, SecretError::ShortSecret { len: 15, min: 16 });
    assert_eq!(e.category(), "secret_short");
    let msg = e.to_string();
    assert!(
        msg.contains("at least 16") && !msg.contains("fifteen"),
        "{msg}"
    );
    assert!(PasswordEncoder::new("sixteen-chars!!!").is_ok());
    assert!(PasswordEncoder::new("").is_err());
}
