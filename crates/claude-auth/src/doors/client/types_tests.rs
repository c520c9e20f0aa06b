//! Unit tests of the request, response and stream types.

use super::*;
use serde_json::json;

#[test]
fn request_serializes_only_what_is_set_and_flattens_extra() {
    let r = MessageRequest::new("m", 10)
        .user("hi")
        .extra("top_k", 3)
        .beta("b1");
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(
        v,
        json!({"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"top_k":3})
    );
}

#[test]
fn unknown_fields_survive_a_round_trip() {
    let raw = json!({
        "id":"msg_1","type":"message","role":"assistant","model":"m",
        "content":[
            {"type":"text","text":"a","citations":[{"x":1}]},
            {"type":"server_tool_use","id":"s","name":"web_search","input":{}},
            {"type":"tool_use","id":"t","name":"f","input":{"q":1}}
        ],
        "stop_reason":"end_turn","stop_sequence":null,
        "usage":{"input_tokens":1,"output_tokens":2,"service_tier":"standard"},
        "container":{"id":"c"}
    });
    let m: Message = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(m.text(), "a");
    assert!(matches!(&m.content[1], ContentBlock::Unknown(v) if v["name"] == "web_search"));
    assert!(matches!(&m.content[2], ContentBlock::ToolUse(t) if t.input == json!({"q":1})));
    assert_eq!(m.usage.extra["service_tier"], "standard");
    assert_eq!(serde_json::to_value(&m).unwrap(), raw);
}

#[test]
fn events_parse_by_type_and_unknown_ones_stay_raw() {
    let e = StreamEvent::parse(
        "content_block_delta",
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a"}}"#,
    )
    .unwrap();
    assert_eq!(
        e,
        StreamEvent::ContentBlockDelta {
            index: 1,
            delta: Delta::InputJson("{\"a".into())
        }
    );
    let e = StreamEvent::parse("future_event", r#"{"type":"future_event","x":1}"#).unwrap();
    assert!(matches!(e, StreamEvent::Unknown { event, .. } if event == "future_event"));
    let e = StreamEvent::parse(
        "content_block_delta",
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"new_delta","v":1}}"#,
    )
    .unwrap();
    assert!(
        matches!(e, StreamEvent::ContentBlockDelta { delta: Delta::Unknown(v), .. } if v["v"] == 1)
    );
    assert!(StreamEvent::parse("message_start", "not json").is_err());
}

#[test]
fn accumulator_assembles_tool_input_and_thinking() {
    let mut acc = MessageAccumulator::new();
    let events = [
        json!({"type":"message_start","message":{"id":"m","role":"assistant","model":"x","content":[],"usage":{"input_tokens":5,"output_tokens":1}}}),
        json!({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}),
        json!({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}),
        json!({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}),
        json!({"type":"content_block_stop","index":0}),
        json!({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}}),
        json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"q\":"}}),
        json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"42}"}}),
        json!({"type":"content_block_stop","index":1}),
        json!({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}),
        json!({"type":"message_stop"}),
    ];
    for e in events {
        let kind = e["type"].as_str().unwrap().to_owned();
        acc.push(&StreamEvent::parse(&kind, &e.to_string()).unwrap());
    }
    let m = acc.into_message().unwrap();
    assert!(
        matches!(&m.content[0], ContentBlock::Thinking(t) if t.thinking == "hm" && t.signature == "sig")
    );
    assert!(matches!(&m.content[1], ContentBlock::ToolUse(t) if t.input == json!({"q":42})));
    assert_eq!(m.stop_reason.as_deref(), Some("tool_use"));
    assert_eq!((m.usage.input_tokens, m.usage.output_tokens), (5, 9));
}
