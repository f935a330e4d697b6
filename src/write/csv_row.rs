//! CSV rows appended straight to a byte buffer, in the bytes the csv
//! crate's writer writes with its defaults (comma, `"` quotes doubled,
//! `QuoteStyle::Necessary`, a `\n` after each record).
//!
//! For rows the threads format by the thousand, where the writer's own
//! machinery cost more than the row: each field went through csv_core's
//! quoting state machine, and the bytes through a shared buffer taken
//! after every session. On 20 k session events (callgrind, one thread)
//! the participation and cost rows were 21.6 M instructions of csv code,
//! 3,400 a participation. Here a field is one scan for the four bytes that
//! need quotes and one copy. The csv crate stays the reference: the tests
//! compare the two on every property-tested record, and every reader of
//! these files is the csv crate.

/// Appends one field, quoted where the csv crate's writer quotes it: a
/// comma, quote or line break in it; quotes inside are doubled.
pub fn push_field(row: &mut Vec<u8>, field: &[u8]) {
    if !field
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        row.extend_from_slice(field);
        return;
    }
    row.reserve(field.len() + 2);
    row.push(b'"');
    for &b in field {
        if b == b'"' {
            row.push(b'"');
        }
        row.push(b);
    }
    row.push(b'"');
}

/// Appends one record: its fields separated by commas and a `\n` after
/// the last. A record of one empty field is written `""`, as the csv
/// crate writes it, so that the line is not read as no record at all.
pub fn push_record<F: AsRef<[u8]>>(row: &mut Vec<u8>, fields: impl IntoIterator<Item = F>) {
    let start = row.len();
    let mut count = 0usize;
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            row.push(b',');
        }
        push_field(row, f.as_ref());
        count = i + 1;
    }
    if count == 1 && row.len() == start {
        row.extend_from_slice(b"\"\"");
    }
    row.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the csv crate's writer, with its defaults, writes for `records`.
    fn by_csv_crate(records: &[Vec<String>]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_writer(Vec::new());
        for r in records {
            w.write_record(r).unwrap();
        }
        w.into_inner().unwrap()
    }

    fn ours(records: &[Vec<String>]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in records {
            push_record(&mut out, r);
        }
        out
    }

    #[test]
    fn fields_are_quoted_only_where_the_csv_crate_quotes_them() {
        let records = vec![
            vec!["plain".to_string(), "a,b".into(), "say \"hi\"".into()],
            vec!["line\nbreak".into(), "cr\rhere".into(), String::new()],
            vec![" lead".into(), "#x".into(), "é,ü".into(), "'q'".into()],
        ];
        let expected = b"plain,\"a,b\",\"say \"\"hi\"\"\"\n\
            \"line\nbreak\",\"cr\rhere\",\n \
            lead,#x,\"\xc3\xa9,\xc3\xbc\",'q'\n";
        assert_eq!(ours(&records), expected.to_vec());
        assert_eq!(ours(&records), by_csv_crate(&records));
    }

    #[test]
    fn a_record_of_one_empty_field_is_written_as_two_quotes() {
        let records = vec![vec![String::new()], vec!["x".into()]];
        assert_eq!(ours(&records), b"\"\"\nx\n".to_vec());
        assert_eq!(ours(&records), by_csv_crate(&records));
    }

    proptest! {
        #[test]
        fn rows_are_the_csv_crates_bytes(
            records in proptest::collection::vec(
                proptest::collection::vec("[a-c ,\"\r\n;=é#'-]{0,6}", 1..5),
                1..5,
            )
        ) {
            prop_assert_eq!(ours(&records), by_csv_crate(&records));
            // And the csv crate reads back every field as it was.
            let bytes = ours(&records);
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(&bytes[..]);
            let back: Vec<Vec<String>> = r
                .records()
                .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
                .collect();
            prop_assert_eq!(back, records);
        }
    }
}
