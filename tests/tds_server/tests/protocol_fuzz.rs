//! The decoders return errors, never panic, on damaged input: the spec's example messages
//! with random bytes overwritten, truncated or extended (deterministic pseudo-random).

mod support;

use support::fixture;
use tds_server::packet::{MessageAssembler, PacketHeader};
use tds_server::{login7, prelogin, request};

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutations(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    match rng.below(3) {
        0 => {
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
        }
        1 => bytes.truncate(rng.below(bytes.len())),
        _ => bytes.extend((0..rng.below(64)).map(|_| rng.next() as u8)),
    }
    bytes
}

fn decode_everything(payload: &[u8]) {
    let _ = prelogin::parse_request(payload);
    let _ = login7::parse(payload);
    let _ = request::parse_sql_batch(payload);
    let _ = request::parse_rpc(payload);
    let _ = request::parse_transaction_manager(payload);
}

#[test]
fn damaged_messages_are_errors_not_panics() {
    let seeds: Vec<Vec<u8>> =
        ["prelogin_request", "login7_request", "sql_batch_request", "rpc_request", "transaction_manager_request"]
            .iter()
            .map(|name| fixture(name)[8..].to_vec())
            .collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut decoded_ok = 0;
    for round in 0..20_000 {
        let seed = &seeds[round % seeds.len()];
        let damaged = mutations(seed, &mut rng);
        decode_everything(&damaged);
        if login7::parse(&damaged).is_ok() || request::parse_rpc(&damaged).is_ok() {
            decoded_ok += 1;
        }
    }
    // Some mutations leave a valid message (e.g. a changed character of a name): the
    // decoders were exercised on valid and invalid input alike.
    assert!(decoded_ok > 0);
    for len in 0..64 {
        decode_everything(&(0..len).map(|_| rng.next() as u8).collect::<Vec<_>>());
    }
}

#[test]
fn damaged_packet_headers_are_errors_not_panics() {
    let mut rng = Rng(42);
    let mut assembler = MessageAssembler::default();
    for _ in 0..20_000 {
        let bytes: Vec<u8> = (0..rng.below(12)).map(|_| rng.next() as u8).collect();
        if let Ok(header) = PacketHeader::parse(&bytes) {
            let data_len = (header.length as usize).saturating_sub(8).min(bytes.len().saturating_sub(8));
            let _ = assembler.push(&header, &bytes[8.min(bytes.len())..8.min(bytes.len()) + data_len], 4096);
        }
    }
}
