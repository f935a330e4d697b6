//! Just enough BER framing to find where an element ends without decoding it.
//!
//! rasn's own parser is private, and the reader needs only this: the total
//! size of one element (definite or indefinite length) so that a malformed
//! record can be cut out and the next one found.

/// Nesting limit for indefinite-length walks; deeper input is a fault, not a
/// stack overflow.
pub const MAX_DEPTH: usize = 64;

/// Levels of the SDR schema above the deepest place an unknown item is kept
/// (record, serviceUsageModules, SUM, serviceSpecific, sessionEvent,
/// parameters, Parameter).
pub const SCHEMA_DEPTH: usize = 7;

/// Nesting limit for walks over a whole record: a kept item may have
/// [`MAX_DEPTH`] levels below it.
pub const RECORD_MAX_DEPTH: usize = MAX_DEPTH + SCHEMA_DEPTH;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("truncated: {needed} bytes needed, {available} left in the file")]
    Truncated { needed: u64, available: u64 },
    #[error("length field of {0} octets is too long")]
    LengthTooLong(usize),
    #[error("indefinite length on a primitive element")]
    IndefinitePrimitive,
    #[error("nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("tag number too large")]
    TagTooLarge,
    #[error("identifier octet 00 (end-of-contents) where an element belongs")]
    EndOfContentsAsElement,
    #[error("record of {length} bytes is longer than the largest record read ({max} bytes)")]
    TooLong { length: u64, max: u64 },
    #[error("no record starts here: the bytes after a broken stretch, up to the next record")]
    NoRecordStart,
}

/// Identifier and length of one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// 0 universal, 1 application, 2 context, 3 private.
    pub class: u8,
    pub constructed: bool,
    pub number: u32,
    /// Octets taken by identifier and length.
    pub header_len: usize,
    /// None for the indefinite form.
    pub content_len: Option<usize>,
}

fn truncated(needed: usize, available: usize) -> FrameError {
    FrameError::Truncated {
        needed: needed as u64,
        available: available as u64,
    }
}

/// Reads the identifier and length octets at the start of `buf`.
pub fn header(buf: &[u8]) -> Result<Header, FrameError> {
    let first = *buf.first().ok_or(truncated(1, 0))?;
    let class = first >> 6;
    let constructed = first & 0x20 != 0;
    let mut pos = 1;
    let mut number = u32::from(first & 0x1f);
    if number == 0x1f {
        number = 0;
        loop {
            let b = *buf.get(pos).ok_or(truncated(pos + 1, buf.len()))?;
            pos += 1;
            if number > (u32::MAX >> 7) {
                return Err(FrameError::TagTooLarge);
            }
            number = (number << 7) | u32::from(b & 0x7f);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let l = *buf.get(pos).ok_or(truncated(pos + 1, buf.len()))?;
    pos += 1;
    let content_len = if l < 0x80 {
        Some(usize::from(l))
    } else if l == 0x80 {
        if !constructed {
            return Err(FrameError::IndefinitePrimitive);
        }
        None
    } else {
        let n = usize::from(l & 0x7f);
        if n > 8 {
            return Err(FrameError::LengthTooLong(n));
        }
        let bytes = buf.get(pos..pos + n).ok_or(truncated(pos + n, buf.len()))?;
        pos += n;
        let len = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        Some(usize::try_from(len).unwrap_or(usize::MAX))
    };
    Ok(Header {
        class,
        constructed,
        number,
        header_len: pos,
        content_len,
    })
}

/// Total encoded size of the element at the start of `buf`.
pub fn element_len(buf: &[u8]) -> Result<usize, FrameError> {
    // Every record is framed here: the usual form (one identifier octet,
    // a definite length of at most two octets, all of it present) is
    // sized without building a header; anything else, errors included,
    // takes the general path, which gives the same size.
    if let [id, l, rest @ ..] = buf
        && id & 0x1f != 0x1f
    {
        let (header_len, len) = match (*l, rest) {
            (l, _) if l < 0x80 => (2, usize::from(l)),
            (0x81, [a, ..]) => (3, usize::from(*a)),
            (0x82, [a, b, ..]) => (4, usize::from(*a) << 8 | usize::from(*b)),
            _ => return element_len_at_depth(buf, 0),
        };
        if header_len + len <= buf.len() {
            return Ok(header_len + len);
        }
    }
    element_len_at_depth(buf, 0)
}

fn element_len_at_depth(buf: &[u8], depth: usize) -> Result<usize, FrameError> {
    if depth > RECORD_MAX_DEPTH {
        return Err(FrameError::TooDeep);
    }
    let h = header(buf)?;
    match h.content_len {
        Some(len) => {
            let total = h.header_len.saturating_add(len);
            if total > buf.len() {
                return Err(truncated(total, buf.len()));
            }
            Ok(total)
        }
        // Indefinite: walk the children up to the end-of-contents octets.
        None => indefinite_end(buf, h.header_len, false, |rest| {
            element_len_at_depth(rest, depth + 1)
        }),
    }
}

/// Checks that `elem` (exactly one element) is a well-formed tree: every
/// constructed element's content splits into children, none of them an
/// end-of-contents identifier, to [`MAX_DEPTH`] levels.
pub fn check_tree(elem: &[u8]) -> Result<(), FrameError> {
    check_tree_at_depth(elem, 0, MAX_DEPTH)
}

/// [`check_tree`] for a whole record, to [`RECORD_MAX_DEPTH`] levels.
pub fn check_record_tree(elem: &[u8]) -> Result<(), FrameError> {
    check_tree_at_depth(elem, 0, RECORD_MAX_DEPTH)
}

fn check_tree_at_depth(elem: &[u8], depth: usize, limit: usize) -> Result<(), FrameError> {
    if walk_flat(elem, depth, limit)? != elem.len() {
        return Err(truncated(elem.len(), elem.len()));
    }
    Ok(())
}

/// [`walk`] without recursion over definite lengths, the form of nearly
/// every record: the ends of the open constructed elements are kept on a
/// stack. Every record is walked before it is decoded, and this loop takes
/// about half the time of the recursive walk. Results, errors included, are
/// those of [`walk`] (which still sizes indefinite-length elements); the
/// tests compare the two.
fn walk_flat(buf: &[u8], depth: usize, limit: usize) -> Result<usize, FrameError> {
    // Each pushed end belongs to an element at a depth of at most `limit`.
    const STACK: usize = RECORD_MAX_DEPTH + 1;
    debug_assert!(limit < STACK);
    let mut ends = [0usize; STACK];
    let mut open = 0;
    // The next element is at `pos` in `buf[pos..end]`, at depth `d`.
    let mut pos = 0;
    let mut end = buf.len();
    let mut d = depth;
    loop {
        if open > 0 {
            if d <= limit {
                // Runs of primitive children with a one-octet tag and a
                // short length are most of a record; anything else, errors
                // included, takes the general step below.
                while pos + 2 <= end {
                    let (id, len) = (buf[pos], buf[pos + 1]);
                    let next = pos + 2 + usize::from(len);
                    if id == 0 || id & 0x3f >= 0x1f || len >= 0x80 || next > end {
                        break;
                    }
                    pos = next;
                }
            }
            if pos == end {
                // Children complete: close their parent.
                open -= 1;
                end = ends[open];
                d -= 1;
                if open == 0 {
                    return Ok(pos);
                }
                continue;
            }
            if buf[pos] == 0 {
                return Err(FrameError::EndOfContentsAsElement);
            }
        }
        if d > limit {
            return Err(FrameError::TooDeep);
        }
        let rest = &buf[pos..end];
        let (start, len, constructed) = if let [id, len, ..] = *rest
            && id & 0x1f != 0x1f
            && len < 0x80
        {
            (2, usize::from(len), id & 0x20 != 0)
        } else {
            let h = header(rest)?;
            match h.content_len {
                Some(len) => (h.header_len, len, h.constructed),
                // Indefinite: rare, sized by the recursive walk.
                None => (0, walk(rest, d, limit)?, false),
            }
        };
        let size = start.saturating_add(len);
        if size > rest.len() {
            return Err(truncated(size, rest.len()));
        }
        if constructed && len > 0 {
            if open == STACK {
                return Err(FrameError::TooDeep);
            }
            ends[open] = end;
            open += 1;
            end = pos + size;
            pos += start;
            d += 1;
            continue;
        }
        pos += size;
        if open == 0 {
            return Ok(pos);
        }
    }
}

/// One pass over the element at the start of `buf`: each identifier and
/// length is read once, children must fill their parent exactly, and no
/// child may be an end-of-contents identifier. Returns the element's size.
fn walk(buf: &[u8], depth: usize, limit: usize) -> Result<usize, FrameError> {
    if depth > limit {
        return Err(FrameError::TooDeep);
    }
    // Most elements have a one-octet tag and a short length.
    if let [id, len, ..] = *buf
        && id & 0x1f != 0x1f
        && len < 0x80
    {
        let end = 2 + usize::from(len);
        if end > buf.len() {
            return Err(truncated(end, buf.len()));
        }
        if id & 0x20 != 0 {
            walk_children(buf, 2, end, depth, limit)?;
        }
        return Ok(end);
    }
    let h = header(buf)?;
    let start = h.header_len;
    match h.content_len {
        Some(len) => {
            let end = start.saturating_add(len);
            if end > buf.len() {
                return Err(truncated(end, buf.len()));
            }
            if h.constructed {
                walk_children(buf, start, end, depth, limit)?;
            }
            Ok(end)
        }
        None => indefinite_end(buf, start, true, |rest| walk(rest, depth + 1, limit)),
    }
}

/// End of an indefinite-length element whose contents start at `start`:
/// `child` sizes each child up to the end-of-contents octets. `strict`
/// refuses any other element with identifier 00.
fn indefinite_end(
    buf: &[u8],
    start: usize,
    strict: bool,
    mut child: impl FnMut(&[u8]) -> Result<usize, FrameError>,
) -> Result<usize, FrameError> {
    let mut pos = start;
    loop {
        let rest = &buf[pos..];
        if rest.len() >= 2 && rest[0] == 0 && rest[1] == 0 {
            return Ok(pos + 2);
        }
        if rest.is_empty() {
            return Err(truncated(pos + 2, buf.len()));
        }
        if strict && rest[0] == 0 {
            return Err(FrameError::EndOfContentsAsElement);
        }
        pos += child(rest)?;
    }
}

/// Walks the children of definite-length content `buf[start..end]`.
fn walk_children(
    buf: &[u8],
    start: usize,
    end: usize,
    depth: usize,
    limit: usize,
) -> Result<(), FrameError> {
    let mut pos = start;
    while pos < end {
        if buf[pos] == 0 {
            return Err(FrameError::EndOfContentsAsElement);
        }
        // A child running past its parent's end is truncated within the
        // parent.
        pos += walk(&buf[pos..end], depth + 1, limit)?;
    }
    Ok(())
}

/// The content octets of a constructed element and whether they end with
/// end-of-contents octets (indefinite form). `elem` is exactly one element.
pub fn contents(elem: &[u8]) -> Result<(&[u8], bool), FrameError> {
    let h = header(elem)?;
    match h.content_len {
        Some(len) => Ok((&elem[h.header_len..h.header_len + len], false)),
        None => Ok((&elem[h.header_len..elem.len() - 2], true)),
    }
}

/// Splits the content octets of a constructed element into its children.
pub fn children(mut content: &[u8]) -> impl Iterator<Item = Result<&[u8], FrameError>> {
    std::iter::from_fn(move || {
        if content.is_empty() {
            return None;
        }
        // Universal tag 0 is reserved for end-of-contents; inside content
        // it can only be an error, and re-framing it would end the parent.
        if content[0] == 0 {
            content = &[];
            return Some(Err(FrameError::EndOfContentsAsElement));
        }
        match element_len(content) {
            Ok(n) => {
                let (child, rest) = content.split_at(n);
                content = rest;
                Some(Ok(child))
            }
            Err(e) => {
                content = &[];
                Some(Err(e))
            }
        }
    })
}

/// Number of octets [`push_length`] writes for `len`.
pub fn length_len(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
    }
}

/// Appends a definite length in the shortest form.
#[inline]
pub fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        push_long_length(out, len);
    }
}

/// The long form, out of line: the short one is inlined into every writer
/// (most items are shorter than 128 bytes).
#[inline(never)]
fn push_long_length(out: &mut Vec<u8>, len: usize) {
    let bytes = (len as u64).to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    out.push(0x80 | (8 - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// Re-frames one element with indefinite lengths on every constructed
/// element (primitive ones keep their definite length, as BER requires).
/// Used to prove that readers see values, not encodings.
pub fn to_indefinite(elem: &[u8]) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::with_capacity(elem.len() + 16);
    write_indefinite(elem, &mut out, 0)?;
    Ok(out)
}

fn write_indefinite(elem: &[u8], out: &mut Vec<u8>, depth: usize) -> Result<(), FrameError> {
    if depth > RECORD_MAX_DEPTH {
        return Err(FrameError::TooDeep);
    }
    let h = header(elem)?;
    if !h.constructed {
        out.extend_from_slice(elem);
        return Ok(());
    }
    // Identifier octets are everything before the length octets.
    let id_len = identifier_len(elem);
    out.extend_from_slice(&elem[..id_len]);
    out.push(0x80);
    let (content, _) = contents(elem)?;
    for child in children(content) {
        write_indefinite(child?, out, depth + 1)?;
    }
    out.extend_from_slice(&[0, 0]);
    Ok(())
}

/// Number of identifier octets at the start of a non-empty `elem`.
pub fn identifier_len(elem: &[u8]) -> usize {
    if elem[0] & 0x1f != 0x1f {
        return 1;
    }
    1 + elem[1..]
        .iter()
        .position(|b| b & 0x80 == 0)
        .map_or(0, |p| p + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definite_short_and_long() {
        assert_eq!(element_len(&[0x02, 0x01, 0x05, 0xff]).unwrap(), 3);
        let mut long = vec![0x04, 0x81, 200];
        long.extend(std::iter::repeat_n(0u8, 200));
        assert_eq!(element_len(&long).unwrap(), 203);
    }

    #[test]
    fn indefinite_nested() {
        // [APPLICATION 1] { [0] { INTEGER 5 } } with indefinite lengths.
        let b = [0x61, 0x80, 0xa0, 0x80, 0x02, 0x01, 0x05, 0, 0, 0, 0, 0x99];
        assert_eq!(element_len(&b).unwrap(), 11);
    }

    #[test]
    fn high_tag_numbers() {
        let h = header(&[0x9f, 0x81, 0x00, 0x00]).unwrap();
        assert_eq!((h.class, h.number, h.header_len), (2, 128, 4));
    }

    #[test]
    fn broken_lengths() {
        assert_eq!(
            element_len(&[0x30, 0x05, 0x01]),
            Err(FrameError::Truncated {
                needed: 7,
                available: 3
            })
        );
        assert_eq!(
            element_len(&[0x30, 0x89]),
            Err(FrameError::LengthTooLong(9))
        );
        assert_eq!(
            element_len(&[0x04, 0x80, 0, 0]),
            Err(FrameError::IndefinitePrimitive)
        );
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 100).flatten().collect();
        assert_eq!(element_len(&deep), Err(FrameError::TooDeep));
    }

    #[test]
    fn length_encoding() {
        let mut v = Vec::new();
        push_length(&mut v, 5);
        push_length(&mut v, 300);
        assert_eq!(v, [5, 0x82, 0x01, 0x2c]);
        for len in [0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 24, usize::MAX] {
            let mut v = Vec::new();
            push_length(&mut v, len);
            assert_eq!(length_len(len), v.len(), "{len}");
        }
    }

    /// Both walks, at both limits, on one input: same size or same error.
    fn same_walks(buf: &[u8]) {
        for limit in [MAX_DEPTH, RECORD_MAX_DEPTH] {
            for depth in [0, 3] {
                assert_eq!(
                    walk_flat(buf, depth, limit),
                    walk(buf, depth, limit),
                    "{} at depth {depth}, limit {limit}",
                    hex::encode(buf)
                );
            }
        }
    }

    /// Generated records, definite and indefinite, and their prefixes.
    fn records() -> Vec<Vec<u8>> {
        let start = chrono::DateTime::parse_from_rfc3339("2026-11-21T00:00:00+01:00").unwrap();
        let mut out = Vec::new();
        for sdr in crate::generate::Generator::new(7, crate::Timestamp(start)).take(40) {
            let bytes = rasn::ber::encode(&sdr).unwrap();
            out.push(to_indefinite(&bytes).unwrap());
            out.push(bytes);
        }
        out
    }

    #[test]
    fn flat_walk_matches_recursive_walk_on_records_and_prefixes() {
        for rec in records() {
            assert_eq!(walk_flat(&rec, 0, RECORD_MAX_DEPTH), Ok(rec.len()));
            for cut in 0..=rec.len() {
                same_walks(&rec[..cut]);
            }
        }
        // A primitive (or an empty constructed) element below n levels,
        // around both depth limits.
        for inner in [[0x05u8, 0x00], [0x30, 0x00]] {
            for n in 58..76 {
                let mut deep = inner.to_vec();
                for _ in 0..n {
                    let mut outer = vec![0x30];
                    push_length(&mut outer, deep.len());
                    outer.extend_from_slice(&deep);
                    deep = outer;
                }
                same_walks(&deep);
            }
        }
        same_walks(&[0x30, 0x04, 0x00, 0x00, 0x02, 0x00]);
        same_walks(&[0x30, 0x03, 0x02, 0x00]);
        same_walks(&[0x3f, 0x81, 0x00, 0x00]);
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Records with octets overwritten: every framing error the walks
        /// can meet, at every depth.
        #[test]
        fn flat_walk_matches_recursive_walk_on_damaged_records(
            which in 0usize..80,
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
            cut in any::<usize>(),
        ) {
            thread_local!(static RECORDS: Vec<Vec<u8>> = records());
            let mut rec = RECORDS.with(|r| r[which % r.len()].clone());
            for (at, b) in edits {
                let at = at % rec.len();
                rec[at] = b;
            }
            let cut = rec.len() - cut % (rec.len() / 4 + 1);
            same_walks(&rec[..cut]);
        }

        #[test]
        fn flat_walk_matches_recursive_walk_on_noise(
            bytes in proptest::collection::vec(
                prop_oneof![Just(0u8), Just(0x30), Just(0x80), Just(0x81), Just(0xbf), 0u8..8, any::<u8>()],
                0..40,
            ),
        ) {
            same_walks(&bytes);
        }

        /// The framing fast path sizes (or refuses) exactly what the
        /// general path does.
        #[test]
        fn element_len_fast_path_matches_the_general_path(
            bytes in proptest::collection::vec(
                prop_oneof![Just(0u8), Just(0x30), Just(0x61), Just(0x80), Just(0x81), Just(0x82), Just(0x1f), 0u8..8, any::<u8>()],
                0..300,
            ),
        ) {
            prop_assert_eq!(element_len(&bytes), element_len_at_depth(&bytes, 0));
        }
    }
}
