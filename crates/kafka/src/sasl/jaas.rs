//! Kafka's JAAS syntax, as `sasl.jaas.config` holds it: just enough of it to read one login
//! module entry and its options. Errors say what is wrong with the text, never what it holds.

use std::collections::BTreeMap;

/// One JAAS login module entry. No `Debug`: its options hold the password.
pub(super) struct Jaas {
    pub(super) module: String,
    pub(super) options: BTreeMap<String, String>,
}

#[derive(PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Punct(char),
}

/// Kafka's JAAS syntax (its `JaasConfig`, a `StreamTokenizer`): `module flag (key=value)* ;`,
/// values quoted (`"..."`, with backslash escapes) or bare words, `//` and `/* */` comments.
/// A `sasl.jaas.config` holds exactly one entry.
pub(super) fn parse_jaas(text: &str) -> Result<Jaas, String> {
    let bad = |why: &str| format!("not a JAAS login module entry: {why}");
    let tokens = tokenize(text).map_err(bad)?;
    let mut it = tokens.into_iter().peekable();
    let module = match it.next() {
        Some(Token::Word(w)) => w,
        _ => return Err(bad("it must start with the login module's class name")),
    };
    match it.next() {
        Some(Token::Word(flag))
            if ["required", "requisite", "sufficient", "optional"]
                .iter()
                .any(|f| f.eq_ignore_ascii_case(&flag)) => {}
        _ => {
            return Err(bad(
                "the class name must be followed by required, requisite, sufficient or optional",
            ))
        }
    }
    let mut options = BTreeMap::new();
    loop {
        match it.next() {
            Some(Token::Punct(';')) => break,
            Some(Token::Word(key)) => {
                if it.next() != Some(Token::Punct('=')) {
                    return Err(bad("an option must be written key=value"));
                }
                match it.next() {
                    Some(Token::Word(v)) | Some(Token::Quoted(v)) => {
                        options.insert(key, v);
                    }
                    _ => return Err(bad("an option must be written key=value")),
                }
            }
            None => return Err(bad("the entry must end with ';'")),
            Some(_) => return Err(bad("unexpected character among the options")),
        }
    }
    if it.next().is_some() {
        return Err(bad("it must hold exactly one login module entry"));
    }
    Ok(Jaas { module, options })
}

fn tokenize(text: &str) -> Result<Vec<Token>, &'static str> {
    let is_word = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '$' | '.');
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' || c == '\r' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                loop {
                    match chars.next() {
                        None => return Err("a /* comment is not closed"),
                        Some('/') if prev == '*' => break,
                        Some(c) => prev = c,
                    }
                }
            }
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("a quoted value is not closed"),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            None => return Err("a quoted value is not closed"),
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('r') => s.push('\r'),
                            Some(e) => s.push(e),
                        },
                        Some(c) => s.push(c),
                    }
                }
                out.push(Token::Quoted(s));
            }
            c if is_word(c) => {
                let mut w = String::from(c);
                while let Some(&n) = chars.peek() {
                    if !is_word(n) {
                        break;
                    }
                    w.push(n);
                    chars.next();
                }
                out.push(Token::Word(w));
            }
            c => out.push(Token::Punct(c)),
        }
    }
    Ok(out)
}
