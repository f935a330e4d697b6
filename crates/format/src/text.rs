//! [`Text`]: the UTF8String data items of an SDR.
//!
//! Nearly every text item of an SDR (customer and producer identities,
//! numbers, codes, session ids) is a few bytes long. `String` would cost a
//! heap allocation for each of them on every decode and every copy, about
//! fifteen per record; `Text` keeps up to 24 bytes inline (compact_str) and
//! otherwise behaves as a string: it dereferences to `str`, compares with
//! `str` and `String`, and serialises as a plain JSON string.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::ops::Deref;

use compact_str::CompactString;
use rasn::prelude::*;
use serde::{Deserialize, Serialize};

/// An ASN.1 UTF8String held inline when short.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text(CompactString);

impl Text {
    /// A value's `Display` text, formatted inline when short (an
    /// ENUMERATED's name, a number) rather than through a `String`.
    pub fn display(v: impl fmt::Display) -> Self {
        use compact_str::ToCompactString;
        Text(v.to_compact_string())
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

impl AsRef<[u8]> for Text {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl AsRef<std::ffi::OsStr> for Text {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_str().as_ref()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0.as_str(), f)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(CompactString::from(s))
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Text(CompactString::from(s.as_str()))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(CompactString::from(s))
    }
}

impl From<&Text> for Text {
    fn from(s: &Text) -> Self {
        s.clone()
    }
}

impl From<Cow<'_, str>> for Text {
    fn from(s: Cow<'_, str>) -> Self {
        Text(CompactString::from(s))
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.0.into_string()
    }
}

impl From<&Text> for String {
    fn from(t: &Text) -> Self {
        t.0.as_str().to_owned()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.0.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.0.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.0.as_str() == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.0.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.0.as_str()
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.0.as_str()
    }
}

impl AsnType for Text {
    const TAG: Tag = Tag::UTF8_STRING;
}

impl Decode for Text {
    fn decode_with_tag_and_constraints<D: Decoder>(
        decoder: &mut D,
        tag: Tag,
        constraints: &Constraints,
    ) -> Result<Self, D::Error> {
        let codec = decoder.codec();
        // Borrowed from the input when primitive, as nearly always: no
        // intermediate Vec, and no heap at all for short items.
        let octets: Cow<'_, [u8]> = decoder.decode_octet_string(tag, constraints)?;
        match std::str::from_utf8(&octets) {
            Ok(s) => Ok(Text(CompactString::from(s))),
            Err(e) => Err(rasn::error::DecodeError::string_conversion_failed(
                Tag::UTF8_STRING,
                e.to_string(),
                codec,
            )
            .into()),
        }
    }
}

impl Encode for Text {
    fn encode_with_tag_and_constraints<'b, E: Encoder<'b>>(
        &self,
        encoder: &mut E,
        tag: Tag,
        constraints: &Constraints,
        identifier: Identifier,
    ) -> Result<(), E::Error> {
        encoder.encode_utf8_string(tag, constraints, self.0.as_str(), identifier)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_decodes_as_a_utf8_string() {
        for s in [
            "",
            "C00601",
            "a text longer than twenty-four bytes, kept on the heap",
            "Åsa",
        ] {
            let t = Text::from(s);
            let bytes = rasn::ber::encode(&t).unwrap();
            assert_eq!(bytes, rasn::ber::encode(&s.to_string()).unwrap());
            assert_eq!(rasn::ber::decode::<Text>(&bytes).unwrap(), s);
        }
    }

    #[test]
    fn invalid_utf8_is_a_decode_error() {
        // UTF8String of one byte 0xff.
        assert!(rasn::ber::decode::<Text>(&[0x0c, 0x01, 0xff]).is_err());
    }

    #[test]
    fn constructed_form_is_read() {
        // UTF8String "ab" as two primitive segments, indefinite length.
        let bytes = [0x2c, 0x80, 0x04, 0x01, b'a', 0x04, 0x01, b'b', 0x00, 0x00];
        assert_eq!(rasn::ber::decode::<Text>(&bytes).unwrap(), "ab");
    }
}
