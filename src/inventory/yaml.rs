//! YAML → `serde_json::Value`, turning CloudFormation short-form tags into their long form.
//!
//! * `!Ref X` → `{"Ref": "X"}`, `!Condition X` → `{"Condition": "X"}`
//! * `!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}` (a sequence form is kept as is)
//! * any other `!Name v` → `{"Fn::Name": v}` (`!Sub`, `!Join`, `!Select`, `!If`, `!Equals`,
//!   `!FindInMap`, `!Base64`, `!Cidr`, `!GetAZs`, `!ImportValue`, `!Split`, ...)
//!
//! Plain scalars are typed as YAML 1.2 core schema (null, booleans, integers, floats); quoted
//! and block scalars are strings. Anchors and aliases are expanded; mapping keys must be
//! scalars. Only the first document of a stream is used.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, SpannedEventReceiver, Tag};
use serde_json::{Map, Number, Value};

/// Parse YAML text into a JSON value.
pub fn to_json(text: &str) -> Result<Value, String> {
    let mut b = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut b, false).map_err(|e| e.to_string())?;
    if let Some(e) = b.error {
        return Err(e);
    }
    Ok(b.root.unwrap_or(Value::Null))
}

enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
        tag: Option<Tag>,
    },
    Map {
        map: Map<String, Value>,
        key: Option<String>,
        anchor: usize,
        tag: Option<Tag>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    root: Option<Value>,
    error: Option<String>,
    done: bool,
}

impl Builder {
    fn fail(&mut self, msg: String, span: Span) {
        if self.error.is_none() {
            self.error = Some(format!(
                "{msg} at line {} column {}",
                span.start.line(),
                span.start.col() + 1
            ));
        }
    }

    fn complete(&mut self, v: Value, anchor: usize, span: Span) {
        if anchor > 0 {
            self.anchors.insert(anchor, v.clone());
        }
        match self.stack.last_mut() {
            None => {
                self.root = Some(v);
                self.done = true;
            }
            Some(Frame::Seq { items, .. }) => items.push(v),
            Some(Frame::Map { map, key, .. }) => match key.take() {
                Some(k) => {
                    map.insert(k, v);
                }
                None => match v {
                    Value::String(s) => *key = Some(s),
                    Value::Number(n) => *key = Some(n.to_string()),
                    Value::Bool(b) => *key = Some(b.to_string()),
                    Value::Null => *key = Some(String::new()),
                    _ => self.fail("mapping key is not a scalar".to_string(), span),
                },
            },
        }
    }
}

fn is_core(tag: &Tag) -> bool {
    tag.is_yaml_core_schema() || tag.handle == "!!"
}

/// Wrap a value in its CloudFormation long form.
fn apply_tag(tag: Option<Tag>, v: Value) -> Value {
    let Some(tag) = tag else { return v };
    if is_core(&tag) || tag.handle != "!" {
        return v;
    }
    let name = tag.suffix.as_str();
    match name {
        "Ref" | "Condition" => single(name, v),
        "GetAtt" => match v {
            Value::String(s) => {
                let parts = match s.split_once('.') {
                    Some((a, b)) => vec![Value::String(a.into()), Value::String(b.into())],
                    None => vec![Value::String(s)],
                };
                single("Fn::GetAtt", Value::Array(parts))
            }
            other => single("Fn::GetAtt", other),
        },
        _ => single(&format!("Fn::{name}"), v),
    }
}

fn single(k: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(k.to_string(), v);
    Value::Object(m)
}

fn plain_scalar(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let int = if let Some(h) = s.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = s.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
        s.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Value::Number(i.into());
    }
    let looks_float = s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'));
    if looks_float {
        if let Some(n) = s.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(s.to_string())
}

fn tag_owned(t: Option<Cow<'_, Tag>>) -> Option<Tag> {
    t.map(Cow::into_owned)
}

impl<'input> SpannedEventReceiver<'input> for Builder {
    fn on_event(&mut self, ev: Event<'input>, span: Span) {
        if self.error.is_some() || self.done {
            return;
        }
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag_owned(tag);
                let v = match (&tag, style) {
                    (Some(t), _) if is_core(t) => match t.suffix.as_str() {
                        "str" => Value::String(text.into_owned()),
                        _ => plain_scalar(&text),
                    },
                    (_, ScalarStyle::Plain) => plain_scalar(&text),
                    _ => Value::String(text.into_owned()),
                };
                // `!GetAZs ''` and `!Ref` on an empty plain scalar: keep an empty string
                let v = match (&tag, v) {
                    (Some(t), Value::Null) if !is_core(t) => Value::String(String::new()),
                    (_, v) => v,
                };
                let v = apply_tag(tag, v);
                self.complete(v, anchor, span);
            }
            Event::SequenceStart(anchor, tag) => self.stack.push(Frame::Seq {
                items: Vec::new(),
                anchor,
                tag: tag_owned(tag),
            }),
            Event::MappingStart(anchor, tag) => self.stack.push(Frame::Map {
                map: Map::new(),
                key: None,
                anchor,
                tag: tag_owned(tag),
            }),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq { items, anchor, tag }) => {
                    self.complete(apply_tag(tag, Value::Array(items)), anchor, span)
                }
                Some(Frame::Map {
                    map, anchor, tag, ..
                }) => self.complete(apply_tag(tag, Value::Object(map)), anchor, span),
                None => self.fail("unbalanced YAML events".to_string(), span),
            },
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(v) => self.complete(v, 0, span),
                None => self.fail("unknown alias".to_string(), span),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_tags() {
        let y = r#"
A: !Ref VPC
B: !GetAtt Sg.GroupId
C: !Sub "${Env}-x"
D: !Join [ "-", [ a, !Ref B ] ]
E: !GetAtt [Sg, GroupId]
F: !If [Cond, !Ref X, !Ref "AWS::NoValue"]
G: !Select [0, !GetAZs '']
H: !Base64
  Fn::Sub: |
    line
I: !FindInMap [M, !Ref "AWS::Region", k]
J: !Equals [!Ref P, "true"]
K: !Condition C1
"#;
        let v = to_json(y).unwrap();
        assert_eq!(v["A"], json!({"Ref": "VPC"}));
        assert_eq!(v["B"], json!({"Fn::GetAtt": ["Sg", "GroupId"]}));
        assert_eq!(v["C"], json!({"Fn::Sub": "${Env}-x"}));
        assert_eq!(v["D"], json!({"Fn::Join": ["-", ["a", {"Ref": "B"}]]}));
        assert_eq!(v["E"], json!({"Fn::GetAtt": ["Sg", "GroupId"]}));
        assert_eq!(
            v["F"],
            json!({"Fn::If": ["Cond", {"Ref": "X"}, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(v["G"], json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]}));
        assert_eq!(v["H"], json!({"Fn::Base64": {"Fn::Sub": "line\n"}}));
        assert_eq!(
            v["I"],
            json!({"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "k"]})
        );
        assert_eq!(v["J"], json!({"Fn::Equals": [{"Ref": "P"}, "true"]}));
        assert_eq!(v["K"], json!({"Condition": "C1"}));
    }

    #[test]
    fn scalars_keys_order_anchors() {
        let y = "z: 1\na: -1\nb: '-1'\nc: 1.5\nd: true\ne: ~\nf: 0.0.0.0/0\ng: !!str 80\nh: &x {p: 1}\ni: *x\nj: 2001:db8::/32\n";
        let v = to_json(y).unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            ["z", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
        );
        assert_eq!(v["a"], json!(-1));
        assert_eq!(v["b"], json!("-1"));
        assert_eq!(v["c"], json!(1.5));
        assert_eq!(v["d"], json!(true));
        assert_eq!(v["e"], Value::Null);
        assert_eq!(v["f"], json!("0.0.0.0/0"));
        assert_eq!(v["g"], json!("80"));
        assert_eq!(v["i"], json!({"p": 1}));
        assert_eq!(v["j"], json!("2001:db8::/32"));
    }

    #[test]
    fn errors_do_not_panic() {
        for bad in [
            "a: [1, 2",
            "a: b: c",
            "? [a]\n: 1\n",
            "{",
            "a: *nope",
            "\t- x",
        ] {
            let _ = to_json(bad);
        }
        assert!(to_json("a: [1, 2").is_err());
        assert!(to_json("? [a]\n: 1\n").is_err());
    }
}
