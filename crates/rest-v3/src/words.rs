//! How the API's closed sets of words are declared: one macro writes, for each set, the enum,
//! its text (`as_str`), `parse`, `Display` and the serde form (the text itself), so that the
//! spelling of a word lives in exactly one place.
//!
//! Confluent marks most of these sets `x-extensible-enum`: a newer server may send a word this
//! crate does not know. Response fields therefore hold them as
//! [`Extensible`](crate::Extensible), which keeps such a word as sent instead of failing the
//! whole response.

/// Declares a set of API words: `words! { /// doc  pub enum Name { /// doc  Variant = "TEXT", } }`.
macro_rules! words {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every word of the set, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// How the API spells every word of the set, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text,)+];

            /// The word as the API spells it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// The word spelled `s` (exactly), if it is one of the set.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|w| w.as_str() == s)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&text).ok_or_else(|| {
                    ::serde::de::Error::custom(format!(
                        "unknown {} '{text}'",
                        stringify!($name)
                    ))
                })
            }
        }
    };
}

pub(crate) use words;
