//! YAML → `serde_json::Value`, turning CloudFormation short-form tags into their long form.
//!
//! * `!Ref X` → `{"Ref": "X"}`, `!Condition X` → `{"Condition": "X"}`
//! * `!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}` (a sequence form is kept as is)
//! * any other `!Name v` → `{"Fn::Name": v}` (`!Sub`, `!Join`, `!Select`, `!If`, `!Equals`,
//!   `!FindInMap`, `!Base64`, `!Cidr`, `!GetAZs`, `!ImportValue`, `!Split`, ...)
//!
//! The `saphyr` loader does the YAML: plain scalars typed by the YAML 1.2 core schema (null,
//! booleans, integers, floats), quoted and block scalars as strings, anchors expanded (within a
//! node budget, so a "billion laughs" file is an error, not an exhausted memory), a key given
//! twice in one mapping an error. This file only maps its nodes, which keep their tags, to JSON.
//! Mapping keys must be scalars. Only the first document of a stream is used.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, Tag, YamlData};
use serde_json::{Map, Number, Value};

/// Parse YAML text into a JSON value.
pub fn to_json(text: &str) -> Result<Value, String> {
    let docs = MarkedYaml::load_from_str(text).map_err(|e| e.to_string())?;
    match docs.into_iter().next() {
        // An empty document (comments only) is null, as an empty stream is.
        None => Ok(Value::Null),
        Some(MarkedYaml {
            data: YamlData::BadValue,
            ..
        }) => Ok(Value::Null),
        Some(doc) => convert(doc),
    }
}

fn at(node: &MarkedYaml<'_>, msg: &str) -> String {
    let start = node.span.start;
    format!("{msg} at line {} column {}", start.line(), start.col() + 1)
}

fn convert(node: MarkedYaml<'_>) -> Result<Value, String> {
    Ok(match node.data {
        YamlData::Value(s) => scalar(s),
        YamlData::Sequence(items) => {
            Value::Array(items.into_iter().map(convert).collect::<Result<_, _>>()?)
        }
        YamlData::Mapping(pairs) => {
            let mut map = Map::new();
            for (k, v) in pairs {
                let key = match k.data {
                    YamlData::Value(s) => match scalar(s) {
                        Value::String(s) => s,
                        Value::Null => String::new(),
                        other => other.to_string(),
                    },
                    _ => return Err(at(&k, "mapping key is not a scalar")),
                };
                map.insert(key, convert(v)?);
            }
            Value::Object(map)
        }
        YamlData::Tagged(tag, inner) => {
            let v = match convert(*inner)? {
                // `!GetAZs ''` and `!Ref` on an empty plain scalar: keep an empty string
                Value::Null if tag.handle == "!" => Value::String(String::new()),
                v => v,
            };
            apply_tag(&tag, v)
        }
        // The loader parses scalars (`early_parse`) and expands aliases; a scalar that its
        // core-schema tag refuses (`!!int abc`) is a bad value.
        YamlData::Representation(..) | YamlData::Alias(_) | YamlData::BadValue => {
            return Err(at(&node, "a value that does not match its tag"))
        }
    })
}

fn scalar(s: Scalar<'_>) -> Value {
    match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(b),
        Scalar::Integer(i) => Value::Number(i.into()),
        // JSON has no infinities or NaN: those stay text, as YAML writes them.
        Scalar::FloatingPoint(f) => Number::from_f64(f.0).map_or_else(
            || {
                let text = match f.0 {
                    x if x.is_nan() => ".nan",
                    x if x > 0.0 => ".inf",
                    _ => "-.inf",
                };
                Value::String(text.into())
            },
            Value::Number,
        ),
        Scalar::String(s) => Value::String(s.into_owned()),
    }
}

/// Wrap a value in its CloudFormation long form (tags of the `!` handle only: core-schema
/// tags have been applied by the loader, other handles are not CloudFormation's).
fn apply_tag(tag: &Tag, v: Value) -> Value {
    if tag.handle != "!" {
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
    fn anchors_keep_their_tags() {
        let y = "a: &r !Ref Vpc\nb: *r\nc: &s !Sub [x, {k: v}]\nd: *s\n";
        let v = to_json(y).unwrap();
        assert_eq!(v["b"], json!({"Ref": "Vpc"}));
        assert_eq!(v["d"], json!({"Fn::Sub": ["x", {"k": "v"}]}));
    }

    #[test]
    fn bad_yaml_is_an_error_with_its_place() {
        for bad in [
            "a: [1, 2",
            "a: b: c",
            "? [a]\n: 1\n",
            "{",
            "a: *nope",
            // a key given twice: one of the two would be lost
            "a: 1\nb: 2\na: 3\n",
            // the same anchor nested ten times: 10^9 nodes if expanded
            "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\ni: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n",
        ] {
            let e = to_json(bad).expect_err(bad);
            assert!(e.contains("line "), "{bad:?}: {e}");
        }
        // A tab before a block sequence's dash: read as the sequence, without a panic.
        assert_eq!(to_json("\t- x").unwrap(), json!(["x"]));
        assert_eq!(
            to_json("x: 1\n? [a]\n: 1\n").unwrap_err(),
            "mapping key is not a scalar at line 2 column 3"
        );
    }

    #[test]
    fn empty_documents_are_null() {
        assert_eq!(to_json("").unwrap(), Value::Null);
        assert_eq!(to_json("# only a comment\n").unwrap(), Value::Null);
    }
}
