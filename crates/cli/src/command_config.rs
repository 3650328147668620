//! `--command-config FILE`: Kafka client properties (TLS and SASL toward a cluster), read the
//! way Kafka's own tools read them, so that the file an operator already has for
//! `kafka-topics.sh --command-config` works unchanged with every clusterlink command that
//! connects to Kafka (`server`, `describe`, `mirror`, `copy`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use clusterlink_kafka::ClientConfig;

/// Sets the TLS and SASL settings of `config` from the client properties in `path`
/// (`security.protocol`, `ssl.*` (PEM), `sasl.mechanism` / `sasl.jaas.config`).
pub fn apply(path: &Path, config: &mut ClientConfig) -> Result<()> {
    let properties = read_properties(path)?;
    let at = || format!("the client properties in {}", path.display());
    config.connection.tls = clusterlink_kafka::tls::from_configs(&properties)
        .with_context(|| format!("TLS settings of {}", at()))?;
    config.connection.sasl = clusterlink_kafka::sasl::from_configs(&properties)
        .with_context(|| format!("SASL settings of {}", at()))?;
    Ok(())
}

/// Reads a Java `.properties` file, as Kafka's tools do (see [`parse_properties`]). Kafka
/// reads them as ISO-8859-1; a file that is not UTF-8 is read so too.
fn read_properties(path: &Path) -> Result<BTreeMap<String, String>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading client properties from {}", path.display()))?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => e.into_bytes().into_iter().map(char::from).collect(),
    };
    parse_properties(&text).with_context(|| format!("client properties in {}", path.display()))
}

/// The blanks of Java's `.properties` syntax (not Unicode's).
fn blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

/// Java's `.properties` syntax: lines end at `\n`, `\r\n` or `\r`; `#` and `!` comment lines;
/// a line ending in an odd number of backslashes continues on the next (whose leading blanks
/// are dropped), as JAAS configs are often written; the name ends at the first unescaped `=`,
/// `:` or blank (space, tab, form feed); `\t`, `\n`, `\r`, `\f`, `\uXXXX` (surrogate pairs
/// joined) and `\` before any other character are escapes.
fn parse_properties(text: &str) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines = text.split('\n').enumerate();
    while let Some((n, first)) = lines.next() {
        let first = first.trim_start_matches(blank);
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        let mut logical = first.to_owned();
        while logical.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1 {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start_matches(blank)),
                None => break,
            }
        }
        let (name, value) = split_property(&logical);
        let name = unescape(&name).with_context(|| format!("line {}", n + 1))?;
        let value = unescape(&value).with_context(|| format!("line {}", n + 1))?;
        out.insert(name, value);
    }
    Ok(out)
}

/// A logical line's name and value, both still escaped.
fn split_property(line: &str) -> (String, String) {
    let mut chars = line.char_indices();
    let mut end = line.len();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == '=' || c == ':' || blank(c) {
            end = i;
            break;
        }
    }
    let name = &line[..end];
    let rest = line[end..].trim_start_matches(blank);
    let rest = rest
        .strip_prefix(['=', ':'])
        .map_or(rest, |r| r.trim_start_matches(blank));
    (name.to_owned(), rest.to_owned())
}

fn unescape(s: &str) -> Result<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    // Not echoed in errors: the value may be a secret.
    let hex4 = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Result<u32> {
        let hex: String = chars.by_ref().take(4).collect();
        u32::from_str_radix(&hex, 16)
            .ok()
            .filter(|_| hex.len() == 4)
            .context("a \\u escape without four hex digits")
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let unit = hex4(&mut chars)?;
                let code = if (0xD800..0xDC00).contains(&unit) {
                    // A high surrogate: Java strings are UTF-16, the low half follows.
                    anyhow::ensure!(
                        chars.next() == Some('\\') && chars.next() == Some('u'),
                        "a \\u surrogate escape without its second half"
                    );
                    let low = hex4(&mut chars)?;
                    anyhow::ensure!(
                        (0xDC00..0xE000).contains(&low),
                        "a \\u surrogate escape without its second half"
                    );
                    0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    unit
                };
                out.push(char::from_u32(code).context("a \\u escape that is no character")?);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse_properties;

    #[test]
    fn properties_files_read_as_kafka_tools_write_them() {
        let p = parse_properties(
            "# comment\n! also a comment\n\n security.protocol = SASL_SSL\nsasl.mechanism:PLAIN\n\
             sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\\n    \
             username=\"u\" \\\n    password=\"a=b\\\\c\";\n\
             ssl.truststore.location /etc/ca.pem\nkey\\=with\\:escapes=caf\\u00e9\n",
        )
        .unwrap();
        assert_eq!(p["security.protocol"], "SASL_SSL");
        assert_eq!(p["sasl.mechanism"], "PLAIN");
        assert_eq!(
            p["sasl.jaas.config"],
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"a=b\\c\";"
        );
        assert_eq!(p["ssl.truststore.location"], "/etc/ca.pem");
        assert_eq!(p["key=with:escapes"], "caf\u{e9}");
        assert_eq!(p.len(), 5);
        let e = parse_properties("ok=1\nbad=\\uZZ\n").unwrap_err();
        assert!(format!("{e:#}").contains("line 2"), "{e:#}");
        // Old Mac line ends, Java's blanks only, surrogate pairs, an empty name (as Java).
        let p = parse_properties("a=1\rb=\u{a0}x\r=empty\rsmile=\\uD83D\\uDE00").unwrap();
        assert_eq!(p["a"], "1");
        assert_eq!(p["b"], "\u{a0}x");
        assert_eq!(p[""], "empty");
        assert_eq!(p["smile"], "\u{1F600}");
    }
}
