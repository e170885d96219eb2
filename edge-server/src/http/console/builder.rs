//! The rule builder: a dynamic segment's rule as rows of field, operator and value, in groups
//! that match all or any of their rows, which match all or any of each other.
//!
//! It is a form the server reads back on every press (add a row, remove one, preview, save),
//! so it works without script; `console.js` only sends the same form in the background and
//! swaps in the answer. The JSON a rule is stored as stays available beside it, for rules the
//! builder cannot show (`not`, deeper nesting) and for people who would rather type it.
//!
//! Form names: `match` (the groups), `g<i>.match`, and `g<i>.r<j>.field|op|value|extra`,
//! where `extra` is a money condition's currency or a viewed condition's days.

use serde_json::{json, Map, Value};

use super::locale::number;
use super::parts::Choice;
use crate::contacts::catalogue::{self, Shape};
use crate::contacts::segment::{Rule, MAX_CONDITIONS};

/// Groups a builder holds; rows are bounded by [`MAX_CONDITIONS`] in all.
const MAX_GROUPS: usize = 10;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub field: String,
    pub op: String,
    pub value: String,
    pub extra: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub any: bool,
    pub rows: Vec<Row>,
}

impl Group {
    fn new() -> Group {
        Group {
            any: false,
            rows: vec![Row::default()],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Builder {
    /// Whether any group (rather than every group) must hold.
    pub any: bool,
    pub groups: Vec<Group>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            any: false,
            groups: vec![Group::new()],
        }
    }
}

/// `g3.r2.field` → (3, Some((2, "field"))); `g3.match` → (3, None).
fn place(name: &str) -> Option<(usize, Option<(usize, &str)>)> {
    let rest = name.strip_prefix('g')?;
    let (g, rest) = rest.split_once('.')?;
    let g = g.parse().ok().filter(|g| *g < MAX_GROUPS)?;
    if rest == "match" {
        return Some((g, None));
    }
    let (r, part) = rest.strip_prefix('r')?.split_once('.')?;
    let r = r.parse().ok().filter(|r| *r < MAX_CONDITIONS)?;
    matches!(part, "field" | "op" | "value" | "extra").then_some((g, Some((r, part))))
}

impl Builder {
    /// The builder a posted form holds. Names out of bounds are ignored; a value given several
    /// times (a multiple select) is joined with commas.
    pub fn from_form(form: &[(String, String)]) -> Builder {
        use std::collections::BTreeMap;
        let mut groups: BTreeMap<usize, (bool, BTreeMap<usize, Row>)> = BTreeMap::new();
        let mut any = false;
        for (k, v) in form {
            if k == "match" {
                any = v == "any";
                continue;
            }
            let Some((g, row)) = place(k) else { continue };
            let group = groups.entry(g).or_insert((false, BTreeMap::new()));
            let Some((r, part)) = row else {
                group.0 = v == "any";
                continue;
            };
            let row = group.1.entry(r).or_default();
            let slot = match part {
                "field" => &mut row.field,
                "op" => &mut row.op,
                "value" => &mut row.value,
                _ => &mut row.extra,
            };
            if !slot.is_empty() && part == "value" {
                slot.push_str(", ");
            }
            slot.push_str(v.trim());
        }
        let groups: Vec<Group> = groups
            .into_values()
            .map(|(any, rows)| Group {
                any,
                rows: rows.into_values().collect(),
            })
            .filter(|g| !g.rows.is_empty())
            .collect();
        if groups.is_empty() {
            return Builder {
                any,
                ..Builder::default()
            };
        }
        Builder { any, groups }
    }

    /// Applies a press of one of the builder's buttons: `add:<g>` (a row in group g), `group`
    /// (a new group), `del:<g>:<r>` (that row). Anything else changes nothing.
    pub fn press(&mut self, act: &str) {
        let rows: usize = self.groups.iter().map(|g| g.rows.len()).sum();
        let mut parts = act.split(':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("add"), Some(g), None) if rows < MAX_CONDITIONS => {
                if let Some(g) = g.parse::<usize>().ok().and_then(|g| self.groups.get_mut(g)) {
                    g.rows.push(Row::default());
                }
            }
            (Some("group"), None, None)
                if rows < MAX_CONDITIONS && self.groups.len() < MAX_GROUPS =>
            {
                self.groups.push(Group::new());
            }
            (Some("del"), Some(g), Some(r)) => {
                if let (Ok(g), Ok(r)) = (g.parse::<usize>(), r.parse::<usize>()) {
                    if let Some(group) = self.groups.get_mut(g) {
                        if r < group.rows.len() {
                            group.rows.remove(r);
                        }
                        if group.rows.is_empty() {
                            self.groups.remove(g);
                        }
                    }
                }
                if self.groups.is_empty() {
                    self.groups.push(Group::new());
                }
            }
            _ => {}
        }
    }

    /// The rule the rows make, `None` when no row names a field. A row that does not make a
    /// condition keeps its error (shown beside it), and the rule is then `Err`.
    pub fn rule(&mut self) -> Result<Option<Value>, ()> {
        let mut failed = false;
        let mut groups = Vec::new();
        for g in &mut self.groups {
            let mut conds = Vec::new();
            for row in &mut g.rows {
                row.error = None;
                if row.field.is_empty() {
                    continue;
                }
                match row.condition() {
                    Ok(c) => conds.push(c),
                    Err(e) => {
                        row.error = Some(e);
                        failed = true;
                    }
                }
            }
            match conds.len() {
                0 => {}
                1 => groups.extend(conds),
                _ => groups.push(json!({ combine(g.any): conds })),
            }
        }
        if failed {
            return Err(());
        }
        Ok(match groups.len() {
            0 => None,
            1 => groups.pop(),
            _ => Some(json!({ combine(self.any): groups })),
        })
    }

    /// The builder that shows `rule`, when its shape fits: a condition, a group of
    /// conditions, or a group of those. `None` for `not` and deeper nesting.
    pub fn of_rule(rule: &Value) -> Option<Builder> {
        let group_of = |v: &Value| -> Option<Group> {
            if let Some(row) = Row::of_condition(v) {
                return Some(Group {
                    any: false,
                    rows: vec![row],
                });
            }
            let (any, list) = combination(v)?;
            let rows = list
                .iter()
                .map(Row::of_condition)
                .collect::<Option<Vec<_>>>()?;
            Some(Group { any, rows })
        };
        if let Some(g) = group_of(rule) {
            return Some(Builder {
                any: false,
                groups: vec![g],
            });
        }
        let (any, list) = combination(rule)?;
        let groups = list.iter().map(group_of).collect::<Option<Vec<_>>>()?;
        (groups.len() <= MAX_GROUPS).then_some(Builder { any, groups })
    }
}

fn combine(any: bool) -> &'static str {
    if any {
        "any"
    } else {
        "all"
    }
}

/// `{"all": [...]}` or `{"any": [...]}`: whether any, and the list.
fn combination(v: &Value) -> Option<(bool, &Vec<Value>)> {
    let obj = v.as_object().filter(|o| o.len() == 1)?;
    let (k, list) = obj.iter().next()?;
    let any = match k.as_str() {
        "all" => false,
        "any" => true,
        _ => return None,
    };
    Some((any, list.as_array()?))
}

impl Row {
    /// The condition this row says, checked by the rule language's own parser.
    fn condition(&self) -> Result<Value, String> {
        let field = catalogue::field(&self.field)
            .ok_or_else(|| format!("`{}` is not a field a rule can test", self.field))?;
        let shape = field.shape;
        let op = if self.op.is_empty() {
            shape.ops()[0].0
        } else {
            self.op.as_str()
        };
        let text = self.value.trim();
        let number = |t: &str| -> Value {
            t.parse::<u64>()
                .map(Value::from)
                .or_else(|_| t.parse::<f64>().map(Value::from))
                .unwrap_or_else(|_| Value::from(t))
        };
        let value = match (shape, op) {
            (Shape::Choice, "in" | "not_in") => Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(Value::from)
                    .collect(),
            ),
            (Shape::Flag, _) | (Shape::Text, "exists") => match text {
                "true" | "yes" => Value::Bool(true),
                "false" | "no" => Value::Bool(false),
                _ => Value::from(text),
            },
            (Shape::Count | Shape::Number | Shape::Probability, _)
            | (Shape::Time, "within_days" | "not_within_days") => number(text),
            // A date alone is its first instant, UTC.
            (Shape::Time, _) if text.len() == 10 => Value::from(format!("{text}T00:00:00Z")),
            _ => Value::from(text),
        };
        let mut cond = Map::new();
        cond.insert("field".into(), Value::from(self.field.as_str()));
        cond.insert("op".into(), Value::from(op));
        cond.insert("value".into(), value);
        let extra = self.extra.trim();
        match shape.extra() {
            Some("currency") => {
                cond.insert("currency".into(), Value::from(extra));
            }
            Some(k) if !extra.is_empty() => {
                cond.insert(k.into(), number(extra));
            }
            _ => {}
        }
        let cond = Value::Object(cond);
        match Rule::parse(&cond) {
            Ok(_) => Ok(cond),
            // The parser names the place (`rule.value`); the row is the place here.
            Err(e) => {
                let what = e.field.strip_prefix("rule.").unwrap_or("rule");
                let what = match what {
                    "value" => "Value",
                    "op" => "Operator",
                    "currency" => "Currency",
                    "within_days" => "Days",
                    "field" => "Field",
                    other => other,
                };
                Err(format!("{what} {}", e.message))
            }
        }
    }

    fn of_condition(v: &Value) -> Option<Row> {
        let obj = v.as_object()?;
        let field = obj.get("field")?.as_str()?.to_owned();
        let op = obj.get("op")?.as_str()?.to_owned();
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let value = match obj.get("value") {
            Some(Value::Array(list)) => list.iter().map(text).collect::<Vec<_>>().join(", "),
            Some(v) => text(v),
            None => String::new(),
        };
        let extra = obj
            .get("currency")
            .or_else(|| obj.get("within_days"))
            .map(text)
            .unwrap_or_default();
        Some(Row {
            field,
            op,
            value,
            extra,
            error: None,
        })
    }
}

/// The builder as a template draws it.
pub struct BuilderView {
    pub any: bool,
    pub groups: Vec<GroupView>,
    pub can_add: bool,
}

pub struct GroupView {
    pub index: usize,
    pub any: bool,
    pub rows: Vec<RowView>,
}

pub struct RowView {
    /// `g<i>.r<j>`, the prefix of its inputs' names and ids.
    pub name: String,
    /// `<i>:<j>`, for its remove button.
    pub at: String,
    /// `row-<i>-<j>`, its element's id.
    pub dom: String,
    /// The chosen field and operator, as the form holds them (`data-` attributes).
    pub field: String,
    pub op: String,
    pub fields: Vec<FieldGroup>,
    pub ops: Vec<Choice>,
    /// `select`, `multiple`, `number`, `date` or `text`.
    pub input: &'static str,
    pub value: String,
    pub choices: Vec<Choice>,
    /// The label of the currency or days input, when the field has one.
    pub extra: Option<&'static str>,
    pub extra_value: String,
    pub error: Option<String>,
}

pub struct FieldGroup {
    pub label: &'static str,
    pub fields: Vec<Choice>,
}

/// Every operator of every shape, for a row whose field is not chosen yet (without script the
/// list cannot follow the field; the server then says which apply).
fn every_op() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<(&str, &str)> = Vec::new();
    for shape in [
        Shape::Count,
        Shape::Choice,
        Shape::Time,
        Shape::Text,
        Shape::Tags,
    ] {
        for op in shape.ops() {
            if !all.iter().any(|(k, _)| *k == op.0) {
                all.push(*op);
            }
        }
    }
    all
}

impl BuilderView {
    pub fn of(b: &Builder) -> BuilderView {
        let catalogue = catalogue::fields();
        let rows: usize = b.groups.iter().map(|g| g.rows.len()).sum();
        BuilderView {
            any: b.any,
            can_add: rows < MAX_CONDITIONS,
            groups: b
                .groups
                .iter()
                .enumerate()
                .map(|(i, g)| GroupView {
                    index: i,
                    any: g.any,
                    rows: g
                        .rows
                        .iter()
                        .enumerate()
                        .map(|(j, r)| RowView::of(i, j, r, &catalogue))
                        .collect(),
                })
                .collect(),
        }
    }
}

impl RowView {
    fn of(g: usize, r: usize, row: &Row, catalogue: &[catalogue::Field]) -> RowView {
        let field = catalogue::field(&row.field);
        let mut fields: Vec<FieldGroup> = Vec::new();
        for f in catalogue {
            let choice = Choice {
                value: f.name.clone(),
                label: f.label.clone(),
                selected: f.name == row.field,
            };
            match fields.iter_mut().find(|g| g.label == f.group) {
                Some(g) => g.fields.push(choice),
                None => fields.push(FieldGroup {
                    label: f.group,
                    fields: vec![choice],
                }),
            }
        }
        // A custom field is the shop's own name: listed for the row that has it.
        if let Some(f) = field.as_ref().filter(|f| f.name.starts_with("custom.")) {
            fields.push(FieldGroup {
                label: "Custom",
                fields: vec![Choice {
                    value: f.name.clone(),
                    label: f.label.clone(),
                    selected: true,
                }],
            });
        }
        let ops = match &field {
            Some(f) => f.shape.ops().to_vec(),
            None => every_op(),
        };
        let op = if ops.iter().any(|(k, _)| *k == row.op) {
            row.op.as_str()
        } else {
            ops[0].0
        };
        let shape = field.as_ref().map(|f| f.shape);
        let yes_no: &[(&str, &str)] = &[("true", "yes"), ("false", "no")];
        let (input, choices) = match (shape, op) {
            (Some(Shape::Choice), "in" | "not_in") => {
                let picked: Vec<&str> = row.value.split(',').map(str::trim).collect();
                let values = field.as_ref().map_or(&[][..], |f| f.values);
                let choices = values
                    .iter()
                    .map(|(v, l)| Choice {
                        value: (*v).to_owned(),
                        label: (*l).to_owned(),
                        selected: picked.contains(v),
                    })
                    .collect();
                ("multiple", choices)
            }
            (Some(Shape::Choice), _) => (
                "select",
                Choice::list(field.as_ref().map_or(&[][..], |f| f.values), &row.value),
            ),
            (Some(Shape::Flag), _) | (Some(Shape::Text), "exists") => {
                ("select", Choice::list(yes_no, &row.value))
            }
            (Some(Shape::Count | Shape::Number | Shape::Probability), _)
            | (Some(Shape::Time), "within_days" | "not_within_days") => ("number", Vec::new()),
            (Some(Shape::Time), _) => ("date", Vec::new()),
            _ => ("text", Vec::new()),
        };
        let value = match input {
            "date" => row.value.get(..10).unwrap_or(&row.value).to_owned(),
            _ => row.value.clone(),
        };
        RowView {
            name: format!("g{g}.r{r}"),
            at: format!("{g}:{r}"),
            dom: format!("row-{g}-{r}"),
            field: row.field.clone(),
            op: op.to_owned(),
            fields,
            ops: Choice::list(&ops, op),
            input,
            value,
            choices,
            extra: match shape.and_then(Shape::extra) {
                Some("currency") => Some("Currency"),
                Some(_) => Some("Within (days)"),
                None => None,
            },
            extra_value: row.extra.clone(),
            error: row.error.clone(),
        }
    }
}

/// "12 contacts match", in words, then `what` ("these filters").
pub fn matching_words(m: crate::admin::Matching, what: &str) -> String {
    let n = number(m.count);
    let said = match (m.exact, m.count) {
        (true, 1) => "1 contact matches".to_owned(),
        (true, _) => format!("{n} contacts match"),
        (false, _) => format!("At least {n} contacts match"),
    };
    let what = if what.is_empty() {
        String::new()
    } else {
        format!(" {what}")
    };
    match m.exact {
        true => format!("{said}{what}"),
        false => format!(
            "{said}{what} (counted over the newest {} contacts)",
            number(crate::admin::COUNT_BUDGET as u64)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn rows_make_a_rule_and_the_rule_makes_the_rows() {
        let mut b = Builder::from_form(&form(&[
            ("match", "any"),
            ("g0.match", "all"),
            ("g0.r0.field", "valuation"),
            ("g0.r0.op", "in"),
            ("g0.r0.value", "new"),
            ("g0.r0.value", "frequent"),
            ("g0.r1.field", "ecommerce.total_spent"),
            ("g0.r1.op", "gte"),
            ("g0.r1.value", "100"),
            ("g0.r1.extra", "EUR"),
            ("g1.r0.field", "last_activity_at"),
            ("g1.r0.op", "before"),
            ("g1.r0.value", "2026-01-31"),
        ]));
        let rule = b.rule().unwrap().unwrap();
        assert_eq!(
            rule,
            json!({"any": [
                {"all": [
                    {"field": "valuation", "op": "in", "value": ["new", "frequent"]},
                    {"field": "ecommerce.total_spent", "op": "gte", "value": "100", "currency": "EUR"},
                ]},
                {"field": "last_activity_at", "op": "before", "value": "2026-01-31T00:00:00Z"},
            ]})
        );
        Rule::parse(&rule).unwrap();
        let back = Builder::of_rule(&rule).unwrap();
        let mut again = back.clone();
        assert_eq!(again.rule().unwrap().unwrap(), rule);
    }

    #[test]
    fn a_bad_row_says_what_is_wrong_beside_it() {
        let mut b = Builder::from_form(&form(&[
            ("g0.r0.field", "counts.events"),
            ("g0.r0.op", "gt"),
            ("g0.r0.value", "many"),
        ]));
        assert!(b.rule().is_err());
        let e = b.groups[0].rows[0].error.as_deref().unwrap();
        assert!(e.starts_with("Value must be a whole number"), "{e}");
    }

    #[test]
    fn rules_the_builder_cannot_show_stay_json() {
        let not = json!({"not": {"field": "identified", "op": "eq", "value": true}});
        assert!(Builder::of_rule(&not).is_none());
        let deep = json!({"all": [{"any": [{"all": [{"field": "identified", "op": "eq", "value": true}]}]}]});
        assert!(Builder::of_rule(&deep).is_none());
    }

    #[test]
    fn presses_add_and_remove_rows_and_groups() {
        let mut b = Builder::default();
        b.press("add:0");
        b.press("group");
        assert_eq!(b.groups.len(), 2);
        assert_eq!(b.groups[0].rows.len(), 2);
        b.press("del:1:0");
        assert_eq!(b.groups.len(), 1);
        b.press("del:0:0");
        b.press("del:0:0");
        assert_eq!(b, Builder::default(), "never fewer than one empty row");
        b.press("del:9:9");
        b.press("add:x");
        assert_eq!(b, Builder::default());
        let empty = Builder::default().rule();
        assert_eq!(empty, Ok(None));
    }
}
