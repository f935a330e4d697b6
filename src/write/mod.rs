//! Writing priced SDRs.
//!
//! A priced SDR is the record as it arrived with its Service Pricing Modules
//! appended ("additional tagged data items may be appended to it, e.g. by the
//! Service Pricing System"). The original bytes of every other item are
//! copied, never re-encoded, so items this version does not understand pass
//! through unchanged.

pub mod answers;
pub mod csv_row;
pub mod differences;
pub mod export;
pub mod gather;
pub mod names;
pub mod network;
pub mod secured;
pub mod sessions;
pub mod subscribers;
pub mod trace;
pub mod usage;

use std::cell::RefCell;

use anyhow::{Context, Result};

use crate::fault::FaultCause;
use crate::read::origins::Source;
use crate::read::tlv;
use crate::sdr::ServicePricingModule;

/// Context tag number of `servicePricingModules` in ServiceDetailRecord.
const SPM_TAG: u32 = 3;
const CONTEXT: u8 = 2;

/// Appends `record` (one complete SDR encoding) to `out` with `spms` as its
/// servicePricingModules. Pricing modules already present (from an earlier
/// run) are replaced, so re-rating never stacks prices. The new item goes
/// after the known root items and before unknown extension items, where a
/// schema-driven decoder expects it.
pub fn append_priced(
    record: &[u8],
    spms: &[ServicePricingModule],
    out: &mut Vec<u8>,
) -> Result<()> {
    append_priced_tagged(record, spms, None, out)
}

/// [`append_priced`], with `tag` appended to the responsibility trace of
/// the record's header when given (see [`trace`]: the caller leaves it out
/// for a record whose trace already holds sdrate's identity).
pub fn append_priced_tagged(
    record: &[u8],
    spms: &[ServicePricingModule],
    tag: Option<&trace::Tag>,
    out: &mut Vec<u8>,
) -> Result<()> {
    thread_local! {
        // Encoding space reused for every record a thread prices.
        static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        // The tagged header, likewise.
        static HEADER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    let Some(tag) = tag else {
        return SCRATCH.with_borrow_mut(|item| {
            encode_spms(spms, item)?;
            write_priced(record, item, None, out)
        });
    };
    HEADER.with_borrow_mut(|header| {
        header.clear();
        // `contents` trusts the record's length (the reader framed it):
        // checked here, so no caller can make the header's rewrite panic.
        if tlv::element_len(record).context("record framing")? != record.len() {
            anyhow::bail!("the record's length does not match its bytes");
        }
        let (content, _) = tlv::contents(record).context("record framing")?;
        let first = tlv::children(content)
            .next()
            .transpose()
            .context("record item framing")?
            .context("a record without a service header")?;
        let h = tlv::header(first)?;
        if (h.class, h.number) != (CONTEXT, 0) {
            anyhow::bail!("the record's first item is not its service header");
        }
        trace::push_tagged_header(first, tag.entry(), header)?;
        SCRATCH.with_borrow_mut(|item| {
            encode_spms(spms, item)?;
            write_priced(record, item, Some(header), out)
        })
    })
}

/// Encodes `spms` into `item` (cleared first).
fn encode_spms(spms: &[ServicePricingModule], item: &mut Vec<u8>) -> Result<()> {
    item.clear();
    for spm in spms {
        // Every module is appended (rasn's encode_buf would clear the
        // buffer: only the fallback goes through rasn, on its own).
        if !crate::sdr::canonical::encode_pricing_module(spm, item) {
            let bytes = rasn::ber::encode(spm)
                .map_err(|e| anyhow::anyhow!("cannot encode a pricing module: {e}"))?;
            item.extend_from_slice(&bytes);
        }
    }
    Ok(())
}

/// [`append_priced`] into a new buffer, sized once the pricing modules are
/// encoded (a guess beforehand cost most records a reallocation and copy).
pub fn priced_bytes(record: &[u8], spms: &[ServicePricingModule]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    append_priced(record, spms, &mut out)?;
    Ok(out)
}

/// Writes `record` into `out` with `item` (encoded pricing modules) as the
/// contents of its servicePricingModules, and `header` (when given) in
/// place of its first item, the service header. The kept items are sized
/// first, so the record is written once, straight into `out`.
fn write_priced(
    record: &[u8],
    item: &[u8],
    header: Option<&[u8]>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let is_spm = |h: &tlv::Header| h.class == CONTEXT && h.number == SPM_TAG;
    let (content, _) = tlv::contents(record).context("record framing")?;
    let mut kept = 0;
    for (i, child) in tlv::children(content).enumerate() {
        let child = child.context("record item framing")?;
        if !is_spm(&tlv::header(child)?) {
            kept += match header {
                Some(h) if i == 0 => h.len(),
                _ => child.len(),
            };
        }
    }
    let spm_len = 1 + tlv::length_len(item.len()) + item.len();
    let body_len = kept + spm_len;
    let push_spm = |out: &mut Vec<u8>| {
        out.push(0xa0 | SPM_TAG as u8);
        tlv::push_length(out, item.len());
        out.extend_from_slice(item);
    };

    // Identifier octets of the record as they were ([APPLICATION 1]).
    let id_len = tlv::identifier_len(record);
    out.reserve(id_len + 9 + body_len);
    out.extend_from_slice(&record[..id_len]);
    tlv::push_length(out, body_len);
    let mut inserted = false;
    for (i, child) in tlv::children(content).enumerate() {
        // Framing was checked above.
        let child = child.context("record item framing")?;
        let h = tlv::header(child)?;
        if is_spm(&h) {
            continue;
        }
        let root_before_spm = h.class == CONTEXT && h.number < SPM_TAG;
        if !inserted && !root_before_spm {
            push_spm(out);
            inserted = true;
        }
        match header {
            Some(tagged) if i == 0 => out.extend_from_slice(tagged),
            _ => out.extend_from_slice(child),
        }
    }
    if !inserted {
        push_spm(out);
    }
    Ok(())
}

/// A file of bytes kept for recycling, written with its index (see
/// [`crate::read::origins`]): `faults.sdr` with `faults-index.csv`,
/// `broken.dat` with `broken.csv`.
pub struct Kept {
    name: &'static str,
    bytes: std::io::BufWriter<std::fs::File>,
    index: csv::Writer<std::fs::File>,
    position: u64,
}

impl Kept {
    pub fn create(dir: &std::path::Path, name: &'static str, index: &str) -> Result<Self> {
        let path = dir.join(name);
        let file = std::fs::File::create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let index_path = dir.join(index);
        // The header is written here, not by the first row, so an index of
        // nothing still has one.
        let mut index = csv::WriterBuilder::new()
            .has_headers(false)
            .from_path(&index_path)
            .with_context(|| format!("cannot create {}", index_path.display()))?;
        index
            .write_record(crate::read::origins::INDEX_COLUMNS)
            .with_context(|| format!("cannot write {}", index_path.display()))?;
        Ok(Kept {
            name,
            bytes: std::io::BufWriter::with_capacity(1 << 16, file),
            index,
            position: 0,
        })
    }

    /// Keeps `bytes`, read from `src`, for `cause`: the spelling of a
    /// [`FaultCause`] for a record, why it cannot be framed for a broken
    /// stretch.
    pub fn keep(&mut self, bytes: &[u8], src: Source<'_>, cause: &str) -> Result<()> {
        use std::io::Write;
        self.bytes
            .write_all(bytes)
            .with_context(|| format!("cannot write {}", self.name))?;
        index_row(
            &mut self.index,
            Some(self.position),
            bytes.len(),
            src,
            cause,
        )
        .with_context(|| format!("cannot write the index of {}", self.name))?;
        self.position += bytes.len() as u64;
        Ok(())
    }

    /// [`Self::keep`] of bytes whose index row, but for its first column
    /// (the position, known only here), was formatted beforehand by
    /// [`index_row`] without a position: `tail`, newline included. The row
    /// is appended to `rows`, for [`Self::append_index`].
    pub fn keep_formatted(&mut self, bytes: &[u8], tail: &[u8], rows: &mut Vec<u8>) -> Result<()> {
        use std::io::Write;
        self.bytes
            .write_all(bytes)
            .with_context(|| format!("cannot write {}", self.name))?;
        rows.extend_from_slice(itoa::Buffer::new().format(self.position).as_bytes());
        rows.push(b',');
        rows.extend_from_slice(tail);
        self.position += bytes.len() as u64;
        Ok(())
    }

    /// Appends index rows made by [`Self::keep_formatted`], after the rows
    /// written so far.
    pub fn append_index(&mut self, rows: &[u8]) -> Result<()> {
        append_rows(&mut self.index, rows)
            .with_context(|| format!("cannot write the index of {}", self.name))
    }

    pub fn flush(&mut self) -> Result<()> {
        use std::io::Write;
        self.bytes
            .flush()
            .with_context(|| format!("cannot write {}", self.name))?;
        self.index
            .flush()
            .with_context(|| format!("cannot write the index of {}", self.name))
    }
}

/// Appends CSV `rows` formatted elsewhere to the file of a CSV writer,
/// after the rows it wrote: its buffer is flushed first, and underneath it
/// the file is unbuffered.
pub fn append_rows(w: &mut csv::Writer<std::fs::File>, rows: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if rows.is_empty() {
        return Ok(());
    }
    w.flush()?;
    let mut file: &std::fs::File = w.get_ref();
    file.write_all(rows)
}

/// A kept record's row in its index (the columns of
/// `read::origins::IndexRow`), written without building one (no copies of
/// the file name and cause per fault). Without a position, the row's other
/// columns: see [`Kept::keep_formatted`].
pub fn index_row(
    index: &mut csv::Writer<impl std::io::Write>,
    position: Option<u64>,
    length: usize,
    src: Source<'_>,
    cause: &str,
) -> csv::Result<()> {
    let mut n = [(); 4].map(|()| itoa::Buffer::new());
    let [at, length_text, offset, input_length] = &mut n;
    if let Some(p) = position {
        index.write_field(at.format(p))?;
    }
    index.write_record([
        length_text.format(length),
        src.file,
        offset.format(src.offset),
        input_length.format(src.length),
        cause,
    ])
}

/// Columns of the fault report (`faults.csv`), shared by `rate` and
/// `rerate`.
pub const FAULT_COLUMNS: [&str; 8] = [
    "file",
    "offset",
    "length",
    "sdr_identifier",
    "producer",
    "status",
    "cause",
    "line",
];

/// One faulty record: its bytes (labelled with pricing modules where it
/// decoded) kept for recycling, and a row to the fault report
/// ([`FAULT_COLUMNS`]). Shared by `rate` and `rerate`.
#[allow(clippy::too_many_arguments)]
pub fn fault_record(
    faults: &mut Kept,
    report: &mut csv::Writer<impl std::io::Write>,
    src: Source<'_>,
    bytes: &[u8],
    labelled: Option<&[u8]>,
    sdr_identifier: Option<u32>,
    producer: &str,
    cause: FaultCause,
    detail: &str,
) -> Result<()> {
    faults.keep(labelled.unwrap_or(bytes), src, &cause.name())?;
    fault_row(report, src, sdr_identifier, producer, cause, detail)
}

/// A stretch of input that cannot be framed as records: kept in the
/// broken file, never among records (see [`crate::read::origins`]), and
/// one row in the fault report, whose detail it returns.
/// The fault report's detail of a stretch that cannot be framed, kept in
/// the file `kept_in`.
pub fn broken_detail(error: &crate::read::FrameError, length: usize, kept_in: &str) -> String {
    format!(
        "{error}; {length} bytes cannot be framed as records (kept whole in {kept_in}); reading goes on after them"
    )
}

/// The fault report's detail of a compressed stream that breaks off.
pub fn damaged_detail(damaged: &crate::read::compressed::Damaged) -> String {
    format!(
        "{} stream damaged at offset {} of its decompressed stream: {}; the rest of the file cannot be read and nothing of it is kept: have it delivered again (its records already billed are caught as duplicates)",
        damaged.compression, damaged.offset, damaged.cause
    )
}

pub fn broken_stretch(
    broken: &mut Kept,
    report: &mut csv::Writer<impl std::io::Write>,
    src: Source<'_>,
    bytes: &[u8],
    error: &crate::read::FrameError,
) -> Result<String> {
    broken.keep(bytes, src, &error.to_string())?;
    let detail = broken_detail(error, bytes.len(), broken.name);
    fault_row(report, src, None, "", FaultCause::BrokenFraming, &detail)?;
    Ok(detail)
}

/// A compressed input whose stream breaks off: one row in the fault
/// report at the decompressed offset reached, with nothing kept (there is
/// nothing to keep: the bytes after it cannot be decompressed). What was
/// decompressed before it was read as usual. Returns the row's detail.
pub fn damaged_stream(
    report: &mut csv::Writer<impl std::io::Write>,
    damaged: &crate::read::compressed::Damaged,
) -> Result<String> {
    let src = Source {
        file: &damaged.file,
        offset: damaged.offset,
        length: 0,
    };
    let detail = damaged_detail(damaged);
    fault_row(
        report,
        src,
        None,
        "",
        FaultCause::DamagedCompression,
        &detail,
    )?;
    Ok(detail)
}

pub fn fault_row(
    report: &mut csv::Writer<impl std::io::Write>,
    src: Source<'_>,
    sdr_identifier: Option<u32>,
    producer: &str,
    cause: FaultCause,
    detail: &str,
) -> Result<()> {
    use crate::write::names;
    // Numbers written without the formatting machinery or a String each
    // (a fault row cost ~2,000 instructions, on the writer's thread).
    let mut n = [(); 3].map(|()| itoa::Buffer::new());
    let [offset, length, id] = &mut n;
    report
        .write_record([
            src.file,
            offset.format(src.offset),
            length.format(src.length),
            sdr_identifier.map_or("", |i| id.format(i)),
            producer,
            &cause.name(),
            detail,
            "",
        ])
        .with_context(|| format!("cannot write {}", names::FAULT_REPORT))
}

/// `d.to_string()`, digit by digit: reports write several amounts per
/// participation, and rust_decimal's `Display` costs about 900
/// instructions a number. Every digit of the scale is kept (`1.50`).
pub fn decimal_text(d: rust_decimal::Decimal) -> String {
    let mut s = String::with_capacity(24);
    push_decimal(&mut s, d);
    s
}

/// [`decimal_text`] appended to `s`, for text built of several parts.
pub fn push_decimal(s: &mut String, d: rust_decimal::Decimal) {
    use std::fmt::Write;
    let m = d.mantissa();
    let Ok(mut v) = u64::try_from(m.unsigned_abs()) else {
        let _ = write!(s, "{d}");
        return;
    };
    if m == 0 && d.is_sign_negative() {
        let _ = write!(s, "{d}");
        return;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let digits = &buf[i..];
    let scale = d.scale() as usize;
    if m < 0 {
        s.push('-');
    }
    let push = |s: &mut String, b: &[u8]| s.extend(b.iter().map(|c| char::from(*c)));
    if scale == 0 {
        push(s, digits);
    } else if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        push(s, int);
        s.push('.');
        push(s, frac);
    } else {
        s.push_str("0.");
        s.extend(std::iter::repeat_n('0', scale - digits.len()));
        push(s, digits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::Generator;
    use crate::read::decode;
    use crate::sdr::*;
    use chrono::DateTime;

    fn spm(units: i64) -> ServicePricingModule {
        ServicePricingModule {
            module_identifier: ModuleIdentifier::ServicePricing,
            revision_state: MODULE_REVISION,
            sum_spm_correlator: None,
            service_pricing_identifier: Some("sdrate".into()),
            time_of_pricing: Timestamp(
                DateTime::parse_from_rfc3339("2026-11-22T02:00:00+01:00").unwrap(),
            ),
            currency: "SEK".into(),
            vat_level: Amount::from_decimal("25".parse().unwrap()).unwrap(),
            prices: vec![PriceItem {
                price_type: PriceType::PerCall,
                basic_price: Amount::from_decimal(rust_decimal::Decimal::new(units, 2)).unwrap(),
                individual_price: None,
                price_table_identifier: "vpn-base".into(),
                price_table_revision: 1,
                bill_information: None,
                status_indicator: StatusIndicator::Priced,
                unknown_items: None,
            }],
            unknown_items: None,
        }
    }

    fn sample() -> ServiceDetailRecord {
        let start = DateTime::parse_from_rfc3339("2026-11-21T00:00:00+01:00").unwrap();
        Generator::new(3, Timestamp(start)).next().unwrap()
    }

    #[test]
    fn appended_spm_decodes_and_everything_else_is_unchanged() {
        let sdr = sample();
        let bytes = rasn::ber::encode(&sdr).unwrap();
        let mut out = Vec::new();
        append_priced(&bytes, &[spm(1250)], &mut out).unwrap();
        let priced = decode(&out).unwrap();
        assert_eq!(priced.service_pricing_modules, Some(vec![spm(1250)]));
        let mut expected = sdr.clone();
        expected.service_pricing_modules = Some(vec![spm(1250)]);
        assert_eq!(priced, expected);
        // Pricing again replaces, never stacks.
        let mut again = Vec::new();
        append_priced(&out, &[spm(990)], &mut again).unwrap();
        assert_eq!(
            decode(&again).unwrap().service_pricing_modules,
            Some(vec![spm(990)])
        );
    }

    #[test]
    fn the_tag_is_appended_to_the_trace_and_the_record_decodes_as_before_with_it() {
        let sdr = sample();
        let tag = trace::Tag::new("sdrate-1", spm(1).time_of_pricing).unwrap();
        for bytes in [
            rasn::ber::encode(&sdr).unwrap(),
            tlv::to_indefinite(&rasn::ber::encode(&sdr).unwrap()).unwrap(),
        ] {
            let mut out = Vec::new();
            append_priced_tagged(&bytes, &[spm(1250)], Some(&tag), &mut out).unwrap();
            let mut expected = sdr.clone();
            expected.service_pricing_modules = Some(vec![spm(1250)]);
            expected
                .service_header
                .responsibility_trace
                .push(ResponsibilityEntry {
                    system_identity: "sdrate-1".into(),
                    timestamp: tag.time(),
                    unknown_items: None,
                });
            let tagged = decode(&out).unwrap();
            assert_eq!(tagged, expected);
            assert!(tag.held_by(&tagged.service_header));
            // Everything after the header is what append_priced writes.
            let mut plain = Vec::new();
            append_priced(&bytes, &[spm(1250)], &mut plain).unwrap();
            let after_header = |b: &[u8]| {
                let (content, _) = tlv::contents(b).unwrap();
                let header = tlv::element_len(content).unwrap();
                content[header..].to_vec()
            };
            assert_eq!(after_header(&out), after_header(&plain));
        }
    }

    #[test]
    fn a_record_that_cannot_be_tagged_is_an_error_not_a_panic() {
        let tag = trace::Tag::new("sdrate-1", spm(1).time_of_pricing).unwrap();
        // No items; a first item that is not the header; a cut record.
        for bad in [
            &[0x61, 0x00][..],
            &[0x61, 0x03, 0x82, 0x01, 0x00],
            &[0x61, 0x05, 0xa0],
        ] {
            let mut out = Vec::new();
            assert!(
                append_priced_tagged(bad, &[spm(1)], Some(&tag), &mut out).is_err(),
                "{bad:x?}"
            );
        }
    }

    #[test]
    fn unknown_items_and_indefinite_input_pass_through() {
        let sdr = sample();
        let mut bytes = rasn::ber::encode(&sdr).unwrap();
        // Append an unknown extension item [9] "x" at the record's end.
        let (content, _) = tlv::contents(&bytes).unwrap();
        let mut body = content.to_vec();
        body.extend_from_slice(&[0x89, 0x01, b'x']);
        let mut rec = vec![0x61];
        tlv::push_length(&mut rec, body.len());
        rec.extend_from_slice(&body);
        bytes = tlv::to_indefinite(&rec).unwrap();

        let mut out = Vec::new();
        append_priced(&bytes, &[spm(5)], &mut out).unwrap();
        let priced = decode(&out).unwrap();
        assert_eq!(
            priced.unknown_items,
            Some(Unknowns(vec![vec![0x89, 0x01, b'x']]))
        );
        assert_eq!(priced.service_pricing_modules, Some(vec![spm(5)]));
        // The unknown item stays last, after the pricing modules.
        assert!(out.ends_with(&[0x89, 0x01, b'x']));
    }

    /// append_priced as it was before it wrote straight into `out` (with
    /// every module kept, as it should have been).
    fn reference(record: &[u8], spms: &[ServicePricingModule], out: &mut Vec<u8>) -> Result<()> {
        let mut item = Vec::with_capacity(64 * spms.len());
        for spm in spms {
            let bytes = rasn::ber::encode(spm)
                .map_err(|e| anyhow::anyhow!("cannot encode a pricing module: {e}"))?;
            item.extend_from_slice(&bytes);
        }
        let mut spm_item = Vec::with_capacity(item.len() + 6);
        spm_item.push(0xa0 | SPM_TAG as u8);
        tlv::push_length(&mut spm_item, item.len());
        spm_item.extend_from_slice(&item);
        let (content, _) = tlv::contents(record).context("record framing")?;
        let mut body = Vec::with_capacity(content.len() + spm_item.len());
        let mut inserted = false;
        for child in tlv::children(content) {
            let child = child.context("record item framing")?;
            let h = tlv::header(child)?;
            let root_before_spm = h.class == CONTEXT && h.number < SPM_TAG;
            if h.class == CONTEXT && h.number == SPM_TAG {
                continue;
            }
            if !inserted && !root_before_spm {
                body.extend_from_slice(&spm_item);
                inserted = true;
            }
            body.extend_from_slice(child);
        }
        if !inserted {
            body.extend_from_slice(&spm_item);
        }
        let id_len = tlv::identifier_len(record);
        out.extend_from_slice(&record[..id_len]);
        tlv::push_length(out, body.len());
        out.extend_from_slice(&body);
        Ok(())
    }

    #[test]
    fn writes_the_bytes_it_wrote_before() {
        let start = DateTime::parse_from_rfc3339("2026-11-21T00:00:00+01:00").unwrap();
        let mut big = spm(7);
        big.prices = vec![big.prices[0].clone(); 12];
        let sets = [vec![], vec![spm(1250)], vec![spm(1), spm(2)], vec![big]];
        for (i, sdr) in Generator::new(11, Timestamp(start)).take(60).enumerate() {
            let plain = rasn::ber::encode(&sdr).unwrap();
            let mut priced = Vec::new();
            append_priced(&plain, &[spm(3)], &mut priced).unwrap();
            // With an unknown item at the end.
            let (content, _) = tlv::contents(&plain).unwrap();
            let mut body = content.to_vec();
            body.extend_from_slice(&[0x89, 0x01, b'x']);
            let mut extended = vec![0x61];
            tlv::push_length(&mut extended, body.len());
            extended.extend_from_slice(&body);
            for record in [
                tlv::to_indefinite(&plain).unwrap(),
                tlv::to_indefinite(&priced).unwrap(),
                plain,
                priced,
                extended,
            ] {
                let spms = &sets[i % sets.len()];
                let (mut got, mut want) = (vec![0xee], vec![0xee]);
                append_priced(&record, spms, &mut got).unwrap();
                reference(&record, spms, &mut want).unwrap();
                assert_eq!(hex::encode(got), hex::encode(want));
            }
        }
        // Broken records fail the same way and write nothing.
        for broken in [
            &[0x61, 0x03, 0xa0, 0x05, 0x00][..],
            &[0x61, 0x02, 0x00, 0x00],
        ] {
            let mut got = Vec::new();
            let err = append_priced(broken, &[spm(1)], &mut got).unwrap_err();
            let want = reference(broken, &[spm(1)], &mut Vec::new()).unwrap_err();
            assert_eq!(format!("{err:#}"), format!("{want:#}"));
            assert!(got.is_empty());
        }
    }

    /// A record with two usage modules is priced with two pricing modules,
    /// and both are written (rasn::ber::encode_buf starts every encoding
    /// from an empty buffer: once, only the last one was).
    #[test]
    fn every_pricing_module_is_written() {
        let bytes = rasn::ber::encode(&sample()).unwrap();
        let mut out = Vec::new();
        append_priced(&bytes, &[spm(1), spm(2)], &mut out).unwrap();
        assert_eq!(
            decode(&out).unwrap().service_pricing_modules,
            Some(vec![spm(1), spm(2)])
        );
    }

    proptest::proptest! {
        #[test]
        fn decimal_text_is_display(m in proptest::prelude::any::<i64>(), scale in 0u32..=28) {
            let d = rust_decimal::Decimal::new(m, scale);
            proptest::prop_assert_eq!(decimal_text(d), d.to_string());
        }
    }

    #[test]
    fn decimal_text_examples() {
        use rust_decimal::Decimal;
        for s in ["0", "0.00", "1.50", "-0.05", "12345.678", "-7", "0.000001"] {
            let d: Decimal = s.parse().unwrap();
            assert_eq!(decimal_text(d), s);
            assert_eq!(decimal_text(d), d.to_string());
        }
        let big = Decimal::MAX;
        assert_eq!(decimal_text(big), big.to_string());
        let neg_zero = Decimal::new(-0, 2) * Decimal::NEGATIVE_ONE;
        assert_eq!(decimal_text(neg_zero), neg_zero.to_string());
    }
}
