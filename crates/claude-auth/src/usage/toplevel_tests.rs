//! The scanner against serde on the same bodies: the same `model` and
//! counts for every well-formed object, generated or taken from the APIs.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::usage::partial::{Carrier, Counts, Part};
use crate::usage::tap::json_part;

/// What a part says, comparable.
type Flat = (Option<String>, Option<[Option<u64>; 8]>);

fn flat(part: Part<'_>) -> Flat {
    let model = part.model.0.map(|m| m.into_owned());
    let counts = part.usage.0.map(|c: Counts| {
        [
            c.input_tokens.0,
            c.prompt_tokens.0,
            c.output_tokens.0,
            c.completion_tokens.0,
            c.cache_creation_input_tokens.0,
            c.cache_read_input_tokens.0,
            c.input_tokens_details.0.and_then(|d| d.cached_tokens.0),
            c.prompt_tokens_details.0.and_then(|d| d.cached_tokens.0),
        ]
    });
    (model, counts)
}

/// The whole body through serde, as before the scanner.
fn by_serde(body: &[u8]) -> Option<Flat> {
    serde_json::from_slice::<Carrier<'_>>(body).ok().map(|c| {
        flat(Part {
            model: c.model,
            usage: c.usage,
        })
    })
}

fn by_scan(body: &[u8]) -> Option<Flat> {
    json_part(body).map(flat)
}

const MESSAGE: &str = r#"{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":"t1","name":"report","input":{"usage":{"input_tokens":999},"model":"fake"}},{"type":"text","text":"a \"usage\": {\"output_tokens\": 5} \\ }]"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":3,"cache_read_input_tokens":7,"output_tokens":15}}"#;

#[test]
fn a_message_gives_its_top_level_model_and_usage_not_those_inside_content() {
    let Scan::Found { model, usage } = scan(MESSAGE.as_bytes()) else {
        panic!("a plain message is scanned");
    };
    assert_eq!(model, Some(&b"\"claude-sonnet-4-5\""[..]));
    assert_eq!(
        usage,
        Some(
            &br#"{"input_tokens":25,"cache_creation_input_tokens":3,"cache_read_input_tokens":7,"output_tokens":15}"#[..]
        )
    );
    assert_eq!(by_scan(MESSAGE.as_bytes()), by_serde(MESSAGE.as_bytes()));
}

#[test]
fn an_openai_completion_pretty_printed_is_read_the_same() {
    let body = serde_json::to_vec_pretty(&json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-x",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21,
                  "prompt_tokens_details": {"cached_tokens": 4}}
    }))
    .unwrap();
    assert!(matches!(scan(&body), Scan::Found { .. }));
    let (model, counts) = by_scan(&body).unwrap();
    assert_eq!(model.as_deref(), Some("gpt-x"));
    let counts = counts.unwrap();
    assert_eq!(
        (counts[1], counts[3], counts[7]),
        (Some(9), Some(12), Some(4))
    );
    assert_eq!(by_scan(&body), by_serde(&body));
}

#[test]
fn what_is_not_a_plain_object_is_left_to_serde() {
    let deep = format!(
        r#"{{"usage":{{"input_tokens":1}},"x":{}{}}}"#,
        "[".repeat(MAX_DEPTH + 1),
        "]".repeat(MAX_DEPTH + 1)
    );
    for body in [
        r#"[{"usage":{"input_tokens":1}}]"#,
        r#"{"us\u0061ge":{"input_tokens":1}}"#,
        r#"{"usage":{"input_tokens":1},"usage":{"input_tokens":2}}"#,
        r#"{"type":"a","type":"b","usage":{"input_tokens":1}}"#,
        r#"{"usage":{"input_tokens":1}} trailing"#,
        r#"{"usage":{"input_tokens":1}"#,
        r#"{"usage" {"input_tokens":1}}"#,
        r#"{"usage":{"input_tokens":1},}"#,
        r#"{"a":"unterminated}"#,
        "",
        deep.as_str(),
    ] {
        assert_eq!(scan(body.as_bytes()), Scan::Unsure, "{body}");
        assert_eq!(
            by_scan(body.as_bytes()),
            by_serde(body.as_bytes()),
            "{body}"
        );
    }
    // Up to the limit, the scanner handles it, and agrees.
    let nested = format!(
        r#"{{"usage":{{"input_tokens":1}},"x":{}{}}}"#,
        "[".repeat(MAX_DEPTH),
        "]".repeat(MAX_DEPTH)
    );
    assert!(matches!(scan(nested.as_bytes()), Scan::Found { .. }));
    assert_eq!(by_scan(nested.as_bytes()), by_serde(nested.as_bytes()));
}

#[test]
fn values_of_every_kind_are_read_as_serde_reads_them() {
    for body in [
        r#"{}"#,
        r#" { "model" : null , "usage" : null } "#,
        r#"{"model":42,"usage":[1,2]}"#,
        r#"{"model":"caf\u00e9 \"x\"","usage":{"input_tokens":-1,"output_tokens":1.5}}"#,
        r#"{"usage":{"input_tokens":18446744073709551615,"output_tokens":true}}"#,
        r#"{"model":"m","usage":"none"}"#,
        r#"{"model":tru,"usage":{"input_tokens":1}}"#,
        r#"{"model":"m","usage":{"input_tokens":1,}}"#,
    ] {
        assert_eq!(
            by_scan(body.as_bytes()),
            by_serde(body.as_bytes()),
            "{body}"
        );
    }
}

/// A JSON value of bounded size, with keys the ledger looks for among others.
fn value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("model".to_owned()),
        Just("usage".to_owned()),
        Just("input_tokens".to_owned()),
        Just("output_tokens".to_owned()),
        Just("prompt_tokens_details".to_owned()),
        Just("cached_tokens".to_owned()),
        Just("content".to_owned()),
        "[a-z\"\\\\ ]{0,6}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        "[ -~\u{e9}\u{1F600}\"\\\\\n]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn the_scanner_agrees_with_serde_on_any_object(
        members in prop::collection::vec(
            (prop_oneof![Just("model"), Just("usage"), Just("id"), Just("content"), Just("type")], value()),
            0..6,
        ),
        pretty in any::<bool>(),
    ) {
        let object: serde_json::Map<String, Value> =
            members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let object = Value::Object(object);
        let body = if pretty {
            serde_json::to_vec_pretty(&object).unwrap()
        } else {
            serde_json::to_vec(&object).unwrap()
        };
        let found = matches!(scan(&body), Scan::Found { .. });
        prop_assert!(found, "a serialized object is scanned");
        prop_assert_eq!(by_scan(&body), by_serde(&body));
    }

    #[test]
    fn any_bytes_never_panic_and_a_found_scan_agrees_when_serde_parses(
        body in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let scanned = by_scan(&body);
        if serde_json::from_slice::<Value>(&body).is_ok() {
            prop_assert_eq!(scanned, by_serde(&body));
        }
    }
}

#[test]
fn a_tap_on_a_json_body_counts_through_the_scanner() {
    use crate::usage::tap::UsageTap;
    let mut tap = UsageTap::for_content_type(Some("application/json"));
    tap.feed(&MESSAGE.as_bytes()[..100]);
    tap.feed(&MESSAGE.as_bytes()[100..]);
    let usage = tap.finish().unwrap();
    assert_eq!(usage.model.as_deref(), Some("claude-sonnet-4-5"));
    assert_eq!(
        (
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_creation_tokens,
            usage.cache_read_tokens
        ),
        (25, 15, 3, 7)
    );
}
