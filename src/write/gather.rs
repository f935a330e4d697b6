//! One output's bytes for a block, gathered in order and written in one
//! vectored write, rather than copied record by record into the output's
//! buffer.
//!
//! The writer files a block's results in input order, and most of what it
//! writes are bytes that already lie in a buffer that outlives the block: a
//! priced record in its group's buffer (`pipeline::blocks`), an archived or
//! passed-on record in the input block itself, a participation SDR in its
//! session's results. Copied into a `BufWriter` one record at a time, those
//! copies were the largest part of the writer's serial work (18 M of the
//! 120.7 M serial instructions of a 200 k mix, ~194 k `memcpy` calls; 10.9 M
//! of the session events'; BENCHMARKS.md, "Speed: the serial part, fourth
//! cut"). Gathered, a block's pieces go to the kernel in one `writev` per
//! output (at most 1,024 pieces a call): the kernel copies them from where
//! they lie, as it copied the `BufWriter`'s buffer before, so one copy of
//! every byte is saved, not moved elsewhere.
//!
//! Pieces that continue one another in one buffer (consecutive records of
//! one kind in a block, say) are joined into one, so a block of nothing but
//! session events is one piece. A block's total smaller than the
//! `BufWriter`'s capacity is copied into it as before: a system call per
//! small block would cost more than the copy (`BufWriter::write_vectored`
//! decides, by the same rule it applies to one large write).
//!
//! The caller keeps the order: whatever else writes to the same output must
//! come after [`Gather::write_to`] of what was gathered before it.

use std::io::{self, IoSlice, Write};

/// One output's pieces, in order, borrowed from the buffers they lie in.
#[derive(Default)]
pub struct Gather<'a> {
    pieces: Vec<IoSlice<'a>>,
    /// The buffer the last piece lies in and where that piece starts and
    /// ends in it: a next piece of the same buffer that starts at its end
    /// is joined to it.
    last: Option<(&'a [u8], usize, usize)>,
}

impl<'a> Gather<'a> {
    /// Room for `pieces` pieces: a block's are known before it is filed,
    /// and growing the vector by doubling copied it again.
    pub fn with_capacity(pieces: usize) -> Self {
        Gather {
            pieces: Vec::with_capacity(pieces),
            last: None,
        }
    }

    /// Adds `part`, a stretch of `buffer`, after the pieces before it.
    /// Inlined: the writer calls it for most records of a block.
    #[inline]
    pub fn push_in(&mut self, buffer: &'a [u8], part: &'a [u8]) {
        // Where `part` starts in `buffer`, if it lies there: only then can
        // it continue the piece before it.
        let start = (part.as_ptr() as usize).wrapping_sub(buffer.as_ptr() as usize);
        let end = start.wrapping_add(part.len());
        if let Some((b, from, to)) = &mut self.last
            && b.as_ptr() == buffer.as_ptr()
            && *to == start
            && let Some(joined) = b.get(*from..end)
        {
            *to = end;
            *self.pieces.last_mut().expect("a last piece") = IoSlice::new(joined);
            return;
        }
        if !part.is_empty() {
            self.pieces.push(IoSlice::new(part));
            self.last = (end <= buffer.len() && start <= end).then_some((buffer, start, end));
        }
    }

    /// Adds `part` as a piece of its own.
    #[inline]
    pub fn push(&mut self, part: &'a [u8]) {
        if !part.is_empty() {
            self.pieces.push(IoSlice::new(part));
            self.last = None;
        }
    }

    /// How many pieces the bytes gathered are in (joined pieces count once).
    pub fn pieces(&self) -> usize {
        self.pieces.len()
    }

    /// Writes what was gathered, in order, and empties the gather. A
    /// `BufWriter` passes pieces that fill its capacity straight to its
    /// writer, after what it holds, and copies smaller ones.
    pub fn write_to(&mut self, w: &mut impl Write) -> io::Result<()> {
        let mut left = &mut self.pieces[..];
        while !left.is_empty() {
            match w.write_vectored(left) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut left, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.pieces.clear();
        self.last = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufWriter, Write};

    use super::Gather;

    #[test]
    fn pieces_that_continue_one_another_in_one_buffer_are_joined() {
        let block = b"abcdefgh".to_vec();
        let other = b"xyz".to_vec();
        let mut g = Gather::default();
        g.push_in(&block, &block[0..2]);
        g.push_in(&block, &block[2..5]);
        assert_eq!(g.pieces(), 1);
        // A gap in the buffer, another buffer, a piece of its own: new pieces.
        g.push_in(&block, &block[6..8]);
        g.push_in(&other, &other[..]);
        g.push(&block[0..1]);
        g.push_in(&block, &block[1..2]);
        assert_eq!(g.pieces(), 5);
        let mut out = Vec::new();
        g.write_to(&mut out).unwrap();
        assert_eq!(out, b"abcdeghxyzab");
        assert_eq!(g.pieces(), 0);
    }

    #[test]
    fn a_part_outside_its_buffer_is_written_as_it_is() {
        let block = b"abcd".to_vec();
        let elsewhere = b"zz".to_vec();
        let mut g = Gather::default();
        g.push_in(&block, &elsewhere);
        g.push_in(&block, &block[..]);
        g.push_in(&block, b"");
        let mut out = Vec::new();
        g.write_to(&mut out).unwrap();
        assert_eq!(out, b"zzabcd");
    }

    /// More pieces than one `writev` takes (1,024), small and large totals,
    /// after bytes the `BufWriter` already holds: the output is the pieces
    /// in order, whatever the writer took at each call.
    #[test]
    fn the_gathered_bytes_follow_what_the_buffer_holds_in_order() {
        let pieces: Vec<Vec<u8>> = (0..3000u32)
            .map(|i| i.to_string().into_bytes().repeat(1 + (i % 7) as usize))
            .collect();
        let expected: Vec<u8> = b"head"
            .iter()
            .copied()
            .chain(pieces.iter().flatten().copied())
            .chain(*b"tail")
            .collect();
        for capacity in [8, 1 << 10, 1 << 16, 1 << 20] {
            let file = tempfile::tempfile().unwrap();
            let mut w = BufWriter::with_capacity(capacity, file);
            w.write_all(b"head").unwrap();
            let mut g = Gather::default();
            for p in &pieces {
                g.push(p);
            }
            g.write_to(&mut w).unwrap();
            w.write_all(b"tail").unwrap();
            let mut file = w.into_inner().unwrap();
            use std::io::{Read, Seek};
            file.rewind().unwrap();
            let mut got = Vec::new();
            file.read_to_end(&mut got).unwrap();
            assert_eq!(got, expected, "BufWriter of {capacity} bytes");
        }
    }
}
