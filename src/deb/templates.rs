//! The maintainer-script templates, compiled ahead of time: `build.rs` parses
//! `templates/deb/*.hbs` with handlebars and writes Rust that rebuilds each syntax tree
//! with the constructors below (see `build/script_templates.rs`). Parsing them at run
//! time was most of the cost of building a small package.
//!
//! The trees lack only handlebars' line/column table, which serves error messages of
//! templates that fail to render; these render with the context written for them.

use handlebars::template::{
    ExpressionSpecBuilder, HelperTemplate, Parameter, Subexpression, TemplateElement,
};
use handlebars::{Path, PathSeg, Template};
use std::collections::HashMap;

include!(concat!(env!("OUT_DIR"), "/script_templates.rs"));

/// Every script's template, by name (`postinst`, `prerm`, `postrm`).
pub fn all() -> impl Iterator<Item = (&'static str, Template)> {
    templates().into_iter()
}

fn template(name: Option<&str>, elements: Vec<TemplateElement>) -> Template {
    let mut t = Template::new();
    t.name = name.map(str::to_string);
    t.elements = elements;
    t
}

#[allow(clippy::too_many_arguments)]
fn helper(
    name: Parameter,
    params: Vec<Parameter>,
    hash: Vec<(&str, Parameter)>,
    template: Option<Template>,
    inverse: Option<Template>,
    block: bool,
    chain: bool,
    indent_before_write: bool,
) -> Box<HelperTemplate> {
    let spec = ExpressionSpecBuilder::default()
        .name(name)
        .params(params)
        .hash(hash_map(hash))
        .omit_pre_ws(false)
        .omit_pro_ws(false)
        .build()
        .expect("every field of the expression is set");
    let mut h = if chain {
        HelperTemplate::new_chain(spec, block, indent_before_write)
    } else {
        HelperTemplate::new(spec, block, indent_before_write)
    };
    h.template = template;
    h.inverse = inverse;
    Box::new(h)
}

fn hash_map(hash: Vec<(&str, Parameter)>) -> HashMap<String, Parameter> {
    hash.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn subexpression(
    name: Parameter,
    params: Vec<Parameter>,
    hash: Vec<(&str, Parameter)>,
) -> Parameter {
    Parameter::Subexpression(Subexpression::new(name, params, hash_map(hash)))
}

fn named_path(raw: &str, names: &[&str]) -> Parameter {
    let segs = names
        .iter()
        .map(|n| PathSeg::Named(n.to_string()))
        .collect();
    Parameter::Path(Path::Relative((segs, raw.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line/column tables, which the prebuilt trees do not have.
    fn without_mapping(t: &mut Template) {
        t.mapping.clear();
        for e in &mut t.elements {
            if let TemplateElement::HelperBlock(h)
            | TemplateElement::Expression(h)
            | TemplateElement::HtmlExpression(h) = e
            {
                for inner in [&mut h.template, &mut h.inverse].into_iter().flatten() {
                    without_mapping(inner);
                }
            }
        }
    }

    #[test]
    fn prebuilt_trees_are_what_handlebars_compiles() {
        let sources = SOURCES;
        let prebuilt: Vec<_> = all().collect();
        assert_eq!(prebuilt.len(), sources.len());
        for ((name, source), (prebuilt_name, prebuilt)) in sources.iter().zip(prebuilt) {
            assert_eq!(*name, prebuilt_name);
            let mut compiled = Template::compile_with_name(source, name.to_string()).unwrap();
            without_mapping(&mut compiled);
            assert!(
                compiled.elements.len() > 10,
                "{name}: {} elements",
                compiled.elements.len()
            );
            assert_eq!(compiled, prebuilt, "{name}");
        }
    }
}
