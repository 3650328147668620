use super::*;
use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;

/// Timestamp offset, key, value, headers of a generated record.
type RawRecord = (i64, Option<Bytes>, Option<Bytes>, Vec<Header>);

fn arb_bytes(max: usize) -> impl Strategy<Value = Option<Bytes>> {
    proptest::option::weighted(
        0.9,
        proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from),
    )
}

fn arb_record() -> impl Strategy<Value = RawRecord> {
    let header =
        (proptest::collection::vec(any::<u8>(), 0..8), arb_bytes(16)).prop_map(|(k, value)| {
            Header {
                key: Bytes::from(k),
                value,
            }
        });
    (
        -1_000_000i64..1_000_000,
        arb_bytes(32),
        arb_bytes(256),
        proptest::collection::vec(header, 0..4),
    )
}

fn arb_compression() -> impl Strategy<Value = Compression> {
    proptest::sample::select(Compression::ALL.to_vec())
}

/// Records at `base + gaps`, timestamps around a fixed epoch.
fn build(base: i64, gaps: &[u8], raw: Vec<RawRecord>) -> Vec<Record> {
    let mut offset = base;
    raw.into_iter()
        .zip(gaps.iter().chain(std::iter::repeat(&0)))
        .map(|((ts, key, value, headers), gap)| {
            let r = Record {
                offset,
                timestamp: 1_700_000_000_000 + ts,
                key,
                value,
                headers,
            };
            offset += 1 + *gap as i64;
            r
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn encode_decode_round_trip(
        compression in arb_compression(),
        base in 0i64..1 << 40,
        raw in proptest::collection::vec(arb_record(), 1..20),
        producer_id in -1i64..1000,
        transactional in any::<bool>(),
    ) {
        let records = build(base, &[], raw);
        let spec = BatchSpec { producer_id, producer_epoch: 3, base_sequence: 7, transactional, ..BatchSpec::plain(compression) };
        let batch = encode_batch(&spec, &records).unwrap();
        batch.verify_crc().unwrap();
        let h = batch.header();
        prop_assert_eq!(h.compression(), compression);
        prop_assert_eq!(h.base_offset, base);
        prop_assert_eq!(h.record_count as usize, records.len());
        prop_assert_eq!(h.is_transactional(), transactional);
        prop_assert_eq!(h.producer_id, producer_id);
        prop_assert!(h.is_dense());
        prop_assert_eq!(batch.records().unwrap(), records);
        // the bytes survive a split, whole
        prop_assert_eq!(split_batches(batch.bytes().clone()).unwrap(), vec![batch]);
    }

    #[test]
    fn producer_rewrite_keeps_records_and_fixes_crc(
        compression in arb_compression(),
        raw in proptest::collection::vec(arb_record(), 1..10),
        pid in 0i64..1 << 40,
        epoch in 0i16..100,
        seq in 0i32..1 << 30,
    ) {
        let records = build(100, &[], raw);
        let spec = BatchSpec { producer_id: 9, producer_epoch: 1, base_sequence: 0, transactional: true, ..BatchSpec::plain(compression) };
        let batch = encode_batch(&spec, &records).unwrap();
        let out = batch.for_producer(pid, epoch, seq);
        out.verify_crc().unwrap();
        let reparsed = RawBatch::new(out.bytes().clone()).unwrap();
        prop_assert_eq!(reparsed.header(), out.header());
        prop_assert_eq!(out.header().producer_id, pid);
        prop_assert_eq!(out.header().producer_epoch, epoch);
        prop_assert_eq!(out.header().base_sequence, seq);
        prop_assert!(!out.header().is_transactional());
        prop_assert_eq!(out.header().compression(), compression);
        // the record section is the same bytes: nothing was recompressed
        prop_assert_eq!(&out.bytes()[BATCH_HEADER_LEN..], &batch.bytes()[BATCH_HEADER_LEN..]);
        // base offset 0, as Kafka wants from clients; records keep their relative offsets
        prop_assert_eq!(out.header().base_offset, 0);
        let shifted: Vec<Record> = records.iter().map(|r| Record { offset: r.offset - 100, ..r.clone() }).collect();
        prop_assert_eq!(out.records().unwrap(), shifted);
    }

    #[test]
    fn renumber_closes_gaps(
        compression in arb_compression(),
        raw in proptest::collection::vec(arb_record(), 2..10),
        gaps in proptest::collection::vec(0u8..5, 1..10),
    ) {
        let records = build(50, &gaps, raw);
        let batch = encode_batch(&BatchSpec::plain(compression), &records).unwrap();
        let (dense, old) = batch.renumbered().unwrap();
        prop_assert!(dense.header().is_dense());
        prop_assert_eq!(dense.header().base_offset, 50);
        prop_assert_eq!(old, records.iter().map(|r| r.offset).collect::<Vec<_>>());
        let got = dense.records().unwrap();
        prop_assert_eq!(got.len(), records.len());
        for (i, (a, b)) in got.iter().zip(&records).enumerate() {
            prop_assert_eq!(a.offset, 50 + i as i64);
            prop_assert_eq!((&a.key, &a.value, &a.headers, a.timestamp), (&b.key, &b.value, &b.headers, b.timestamp));
        }
    }

    #[test]
    fn split_drops_only_a_trailing_partial_batch(
        n in 1usize..5,
        cut in 1usize..200,
    ) {
        let mut buf = BytesMut::new();
        let mut batches = Vec::new();
        for i in 0..n {
            let r = Record { offset: i as i64 * 10, timestamp: 1, key: None, value: Some(Bytes::from(vec![i as u8; 100])), headers: vec![] };
            let b = encode_batch(&BatchSpec::plain(Compression::None), &[r]).unwrap();
            buf.put_slice(b.bytes());
            batches.push(b);
        }
        let whole = buf.freeze();
        prop_assert_eq!(split_batches(whole.clone()).unwrap(), batches.clone());
        let cut = cut.min(whole.len() - 1);
        let truncated = whole.slice(..whole.len() - cut);
        let got = split_batches(truncated).unwrap();
        prop_assert_eq!(&got[..], &batches[..got.len()]);
        prop_assert!(got.len() < n);
    }

    /// Random bytes never panic the parser: they split or decode, or give an error.
    #[test]
    fn garbage_is_an_error_not_a_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let data = Bytes::from(data);
        if let Ok(batches) = split_batches(data.clone()) {
            for b in batches {
                let _ = b.records();
                let _ = b.verify_crc();
            }
        }
        let _ = BatchHeader::parse(&data);
    }

    /// A valid batch with any single byte of its records flipped fails CRC or decodes, never panics.
    #[test]
    fn corrupted_batches_do_not_panic(
        compression in arb_compression(),
        raw in proptest::collection::vec(arb_record(), 1..5),
        pos in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let batch = encode_batch(&BatchSpec::plain(compression), &build(0, &[], raw)).unwrap();
        let mut bytes = BytesMut::from(&batch.bytes()[..]);
        let i = BATCH_HEADER_LEN + pos.index(bytes.len() - BATCH_HEADER_LEN);
        bytes[i] ^= flip;
        let corrupt = RawBatch::new(bytes.freeze()).unwrap();
        prop_assert!(corrupt.verify_crc().is_err());
        let _ = corrupt.records();
    }
}

#[test]
fn duplicate_header_keys_are_kept() {
    let h = |v: &'static [u8]| Header {
        key: Bytes::from_static(b"k"),
        value: Some(Bytes::from_static(v)),
    };
    let r = Record {
        offset: 0,
        timestamp: 5,
        key: None,
        value: None,
        headers: vec![h(b"1"), h(b"2")],
    };
    let b = encode_batch(
        &BatchSpec::plain(Compression::None),
        std::slice::from_ref(&r),
    )
    .unwrap();
    assert_eq!(b.records().unwrap(), vec![r]);
}

fn txn_batch(offset: i64, pid: i64, control: Option<ControlType>) -> RawBatch {
    let key = control.map(|c| {
        let t: i16 = match c {
            ControlType::Abort => 0,
            ControlType::Commit => 1,
            ControlType::Other(x) => x,
        };
        let mut k = BytesMut::new();
        k.put_i16(0);
        k.put_i16(t);
        k.freeze()
    });
    let r = Record {
        offset,
        timestamp: 1,
        key,
        value: Some(Bytes::from_static(b"v")),
        headers: vec![],
    };
    let spec = BatchSpec {
        transactional: true,
        control: control.is_some(),
        producer_id: pid,
        producer_epoch: 0,
        base_sequence: 0,
        ..BatchSpec::plain(Compression::None)
    };
    encode_batch(&spec, &[r]).unwrap()
}

fn resolve(batches: &[RawBatch], aborted: &[AbortedTxn]) -> (Vec<i64>, u64, Option<i64>) {
    let mut r = TxnResolver::new();
    r.add_aborted(aborted);
    let mut out = Resolved::default();
    for b in batches {
        r.push(b.clone(), &mut out);
    }
    (
        out.ready.iter().map(|b| b.header().base_offset).collect(),
        out.dropped,
        r.first_held_offset(),
    )
}

fn plain_batch(offset: i64) -> RawBatch {
    let r = Record {
        offset,
        timestamp: 1,
        key: None,
        value: Some(Bytes::from_static(b"p")),
        headers: vec![],
    };
    encode_batch(&BatchSpec::plain(Compression::None), &[r]).unwrap()
}

/// producer 1: data 0,1, ABORT 2; producer 2: data 3, COMMIT 4; producer 1: data 5, COMMIT 6
fn interleaved() -> Vec<RawBatch> {
    vec![
        txn_batch(0, 1, None),
        txn_batch(1, 1, None),
        txn_batch(2, 1, Some(ControlType::Abort)),
        txn_batch(3, 2, None),
        txn_batch(4, 2, Some(ControlType::Commit)),
        txn_batch(5, 1, None),
        txn_batch(6, 1, Some(ControlType::Commit)),
    ]
}

#[test]
fn aborted_list_drops_aborted_batches_at_once() {
    let batches = interleaved();
    assert_eq!(
        batches[2].records().unwrap()[0].control_type(),
        Some(ControlType::Abort)
    );
    let aborted = [AbortedTxn {
        producer_id: 1,
        first_offset: 0,
    }];
    assert_eq!(resolve(&batches, &aborted), (vec![3, 5], 5, None));
}

#[test]
fn markers_alone_resolve_transactions_when_the_broker_sends_no_aborted_list() {
    assert_eq!(resolve(&interleaved(), &[]), (vec![3, 5], 5, None));
}

#[test]
fn batches_behind_an_open_transaction_wait_and_keep_their_order() {
    // txn of producer 7 open at 0; plain batch at 1 must not overtake it
    let batches = vec![txn_batch(0, 7, None), plain_batch(1)];
    assert_eq!(resolve(&batches, &[]), (vec![], 0, Some(0)));
    let mut more = batches.clone();
    more.push(txn_batch(2, 7, Some(ControlType::Commit)));
    assert_eq!(resolve(&more, &[]), (vec![0, 1], 1, None));
    let mut aborted = batches;
    aborted.push(txn_batch(2, 7, Some(ControlType::Abort)));
    assert_eq!(resolve(&aborted, &[]), (vec![1], 2, None));
}

#[test]
fn commit_markers_without_held_data_are_just_dropped() {
    let batches = [txn_batch(0, 1, Some(ControlType::Commit)), plain_batch(1)];
    assert_eq!(resolve(&batches, &[]), (vec![1], 1, None));
}

#[test]
fn old_message_format_is_a_clear_error() {
    let mut b = BytesMut::from(&[0u8; 40][..]);
    b[11] = 28;
    b[16] = 1;
    assert_eq!(
        split_batches(b.freeze()),
        Err(RecordError::UnsupportedMagic(1))
    );
}
