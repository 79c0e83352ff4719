//! The page templates, embedded in the binary and compiled once.

use std::sync::LazyLock;

use minijinja::{Environment, Value};

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in embedded![
        "base.html",
        "macros.html",
        "error.html",
        "home.html",
        "about.html",
        "login.html",
        "register.html",
        "logged_out.html",
        "profile.html",
        "patient/dashboard.html",
        "patient/doctors.html",
        "patient/slots.html",
        "patient/confirm.html",
        "patient/reschedule.html",
        "patient/report.html",
        "patient/audit.html",
        "record.html",
        "doctor/dashboard.html",
        "doctor/appointment.html",
        "doctor/patients.html",
        "doctor/schedule.html",
        "admin/accounts.html",
        "admin/audit.html",
    ] {
        env.add_template(name, source)
            .unwrap_or_else(|err| panic!("template {name} does not compile: {err}"));
    }
    env
});

/// Renders template `name` with `context`.
pub(crate) fn render(name: &str, context: Value) -> Result<String, minijinja::Error> {
    TEMPLATES.get_template(name)?.render(context)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_compiles() {
        assert!(super::TEMPLATES.templates().count() > 20);
    }
}
