//! A byte source that hands its data out in pieces of fuzz-chosen sizes,
//! now and then failing a read with `Interrupted` (which readers retry), as
//! a pipe or a slow device does.

use std::io::{self, Read};

pub struct Pieces {
    data: Vec<u8>,
    pos: usize,
    /// Piece sizes, used in turn (0 means an interrupted read).
    sizes: Vec<usize>,
    turn: usize,
}

impl Pieces {
    /// `shape` chooses the piece sizes: each byte one piece of 1 to 255
    /// bytes (0: an interrupted read); no shape, one piece.
    pub fn new(data: &[u8], shape: &[u8]) -> Self {
        let mut sizes: Vec<usize> = shape.iter().map(|&b| usize::from(b)).collect();
        // Something must come out, or a reader would wait forever.
        if sizes.iter().all(|&s| s == 0) {
            sizes = vec![usize::MAX];
        }
        Pieces {
            data: data.to_vec(),
            pos: 0,
            sizes,
            turn: 0,
        }
    }
}

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes[self.turn % self.sizes.len()];
        self.turn += 1;
        if size == 0 {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = size.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
