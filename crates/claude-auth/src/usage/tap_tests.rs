//! The usage tap on real event sequences, split at every byte.

use super::*;

const ANTHROPIC_SSE: &str = concat!(
    "event: message_start\n",
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-x\",\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":3,\"cache_read_input_tokens\":7,\"output_tokens\":1}}}\n",
    "\n",
    "event: ping\r\n",
    "data: {\"type\": \"ping\"}\r\n",
    "\r\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"usage: {\\\"output_tokens\\\": 999}\"}}\n",
    "\n",
    "event: message_delta\n",
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":15}}\n",
    "\n",
    "event: message_stop\n",
    "data: {\"type\":\"message_stop\"}\n",
    "\n",
);

fn expected() -> TokenUsage {
    TokenUsage {
        model: Some("claude-x".into()),
        input_tokens: 25,
        output_tokens: 15,
        cache_creation_tokens: 3,
        cache_read_tokens: 7,
    }
}

#[test]
fn anthropic_sse_in_one_piece_and_split_at_every_byte() {
    let mut tap = UsageTap::for_content_type(Some("text/event-stream; charset=utf-8"));
    tap.feed(ANTHROPIC_SSE.as_bytes());
    assert_eq!(tap.finish(), Some(expected()));
    let bytes = ANTHROPIC_SSE.as_bytes();
    for cut in 0..bytes.len() {
        let mut tap = UsageTap::for_content_type(Some("text/event-stream"));
        tap.feed(&bytes[..cut]);
        tap.feed(&bytes[cut..]);
        assert_eq!(tap.finish(), Some(expected()), "cut at {cut}");
    }
    let mut tap = UsageTap::for_content_type(Some("text/event-stream"));
    for b in bytes {
        tap.feed(std::slice::from_ref(b));
    }
    assert_eq!(tap.finish(), Some(expected()));
}

#[test]
fn json_bodies_of_both_vendors() {
    let mut tap = UsageTap::for_content_type(Some("application/json"));
    tap.feed(br#"{"id":"msg_1","model":"claude-x","usage":{"input_tokens":5,"#);
    tap.feed(br#""output_tokens":2,"cache_read_input_tokens":1}}"#);
    assert_eq!(
        tap.finish(),
        Some(TokenUsage {
            model: Some("claude-x".into()),
            input_tokens: 5,
            output_tokens: 2,
            cache_creation_tokens: 0,
            cache_read_tokens: 1
        })
    );
    let mut tap = UsageTap::for_content_type(Some("application/json"));
    tap.feed(br#"{"model":"gpt-x","usage":{"prompt_tokens":9,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":2}}}"#);
    let got = tap.finish().unwrap();
    assert_eq!(
        (got.input_tokens, got.output_tokens, got.cache_read_tokens),
        (9, 4, 2)
    );
}

#[test]
fn openai_responses_stream_completed_event() {
    let body = "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"model\":\"gpt-x\"}}\n\nevent: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"model\":\"gpt-x\",\"usage\":{\"input_tokens\":11,\"output_tokens\":6,\"input_tokens_details\":{\"cached_tokens\":3}}}}\n\n";
    let mut tap = UsageTap::for_content_type(Some("text/event-stream"));
    tap.feed(body.as_bytes());
    let got = tap.finish().unwrap();
    assert_eq!(got.model.as_deref(), Some("gpt-x"));
    assert_eq!(
        (got.input_tokens, got.output_tokens, got.cache_read_tokens),
        (11, 6, 3)
    );
}

#[test]
fn nothing_from_errors_other_types_and_oversized_input() {
    let mut tap = UsageTap::for_content_type(Some("application/json"));
    tap.feed(br#"{"type":"error","error":{"type":"overloaded_error"}}"#);
    assert_eq!(tap.finish(), None);
    let mut tap = UsageTap::for_content_type(Some("text/html"));
    tap.feed(b"<html>usage</html>");
    assert_eq!(tap.finish(), None);
    let mut tap = UsageTap::for_content_type(None);
    tap.feed(br#"{"usage":{"input_tokens":1}}"#);
    assert_eq!(tap.finish(), None);
    // A JSON body over the limit is dropped, not kept.
    let mut tap = UsageTap::for_content_type(Some("application/json"));
    tap.feed(&vec![b' '; MAX_JSON]);
    tap.feed(br#"{"usage":{"input_tokens":1}}"#);
    assert_eq!(tap.finish(), None);
    // An SSE line over the limit is skipped; the lines after it still count.
    let mut tap = UsageTap::for_content_type(Some("text/event-stream"));
    tap.feed(b"data: ");
    for _ in 0..(MAX_LINE / 1024 + 2) {
        tap.feed(&[b'x'; 1024]);
    }
    tap.feed(b"\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":4}}\n");
    assert_eq!(tap.finish().map(|u| u.output_tokens), Some(4));
}

#[test]
fn fields_of_an_unexpected_type_read_as_absent_and_the_rest_still_counts() {
    // Counts as strings, floats or negative numbers are not counts; a model
    // that is not a string is no model; nested objects, arrays and escapes
    // anywhere are skipped or read correctly.
    let mut tap = UsageTap::for_content_type(Some("Application/JSON; charset=utf-8"));
    tap.feed(
        br#"{"content":[{"type":"tool_use","input":{"usage":{"input_tokens":999}}}],"model":"claude-\u00e9","usage":{"input_tokens":"5","output_tokens":3.5,"cache_creation_input_tokens":-1,"cache_read_input_tokens":4,"server_tool_use":{"web_search_requests":1},"extra":[1,{"a":null}]},"id":"m"}"#,
    );
    assert_eq!(
        tap.finish(),
        Some(TokenUsage {
            model: Some("claude-é".into()),
            input_tokens: 0,
            output_tokens: 0,
            cache_creation_tokens: 0,
            cache_read_tokens: 4,
        })
    );
    let mut tap = UsageTap::for_content_type(Some("application/json"));
    tap.feed(br#"{"model":["x"],"usage":{"output_tokens":2}}"#);
    assert_eq!(
        tap.finish(),
        Some(TokenUsage {
            output_tokens: 2,
            ..TokenUsage::default()
        })
    );
    // A `usage` that is not an object carries nothing.
    for body in [
        &br#"{"model":"m","usage":[1,2]}"#[..],
        br#"{"model":"m","usage":"12"}"#,
        br#"{"model":"m","usage":null}"#,
        br#"[{"usage":{"input_tokens":1}}]"#,
    ] {
        let mut tap = UsageTap::for_content_type(Some("application/json"));
        tap.feed(body);
        assert_eq!(tap.finish(), None, "{}", String::from_utf8_lossy(body));
    }
}

#[test]
fn a_json_body_kept_as_bytes_in_one_frame_or_copied_from_many() {
    let body = br#"{"model":"claude-x","usage":{"input_tokens":5,"output_tokens":2}}"#;
    let want = Some(TokenUsage {
        model: Some("claude-x".into()),
        input_tokens: 5,
        output_tokens: 2,
        ..TokenUsage::default()
    });
    let mut tap = UsageTap::for_content_type(Some("application/json"));
    tap.feed_bytes(&Bytes::from_static(body));
    assert_eq!(tap.finish(), want);
    for cut in 0..body.len() {
        let mut tap = UsageTap::for_content_type(Some("application/json"));
        tap.feed_bytes(&Bytes::copy_from_slice(&body[..cut]));
        tap.feed_bytes(&Bytes::copy_from_slice(&body[cut..]));
        assert_eq!(tap.finish(), want, "cut at {cut}");
    }
    // Over the limit across frames: dropped.
    let mut tap = UsageTap::for_content_type(Some("application/json"));
    tap.feed_bytes(&Bytes::from(vec![b' '; MAX_JSON]));
    tap.feed_bytes(&Bytes::from_static(body));
    assert_eq!(tap.finish(), None);
}

#[test]
fn a_long_model_name_is_cut_at_128_characters() {
    let long = "é".repeat(200);
    let mut tap = UsageTap::for_content_type(Some("text/event-stream"));
    tap.feed(
        format!("data: {{\"model\":\"{long}\",\"usage\":{{\"output_tokens\":1}}}}\n").as_bytes(),
    );
    assert_eq!(tap.finish().unwrap().model.unwrap().chars().count(), 128);
}
