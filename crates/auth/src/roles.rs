//! The closed sets identities are granted: the spec's four roles and the
//! two APIs a token may be for. Stored and carried in tokens as their
//! names; compared and validated here.

/// A role of the spec: two for the Insights API, two for Store analytics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Insights: every column, restricted ones included.
    ExecutiveReportViewer,
    /// Insights: restricted columns redacted.
    ReportViewer,
    /// Store analytics.
    Manager,
    /// Store analytics.
    Developer,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::ExecutiveReportViewer,
        Role::ReportViewer,
        Role::Manager,
        Role::Developer,
    ];

    /// The name tokens and the admin API carry.
    pub const fn name(self) -> &'static str {
        match self {
            Role::ExecutiveReportViewer => "ExecutiveReportViewer",
            Role::ReportViewer => "ReportViewer",
            Role::Manager => "Manager",
            Role::Developer => "Developer",
        }
    }

    /// A role from its name in any case.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(text.trim()))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which API a token is presented to (decides its audience).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    Insights,
    StoreAnalytics,
}

impl Api {
    pub const ALL: [Api; 2] = [Api::Insights, Api::StoreAnalytics];

    /// The short name apps are granted and the CLI's `--api` takes.
    pub const fn name(self) -> &'static str {
        match self {
            Api::Insights => "insights",
            Api::StoreAnalytics => "store",
        }
    }

    /// An API from its short name in any case.
    pub fn parse(text: &str) -> Option<Api> {
        Api::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(text.trim()))
    }

    /// The public service's resource (the default audience) of this API.
    pub const fn public_resource(self) -> &'static str {
        match self {
            Api::Insights => "https://api.partnercenter.microsoft.com",
            Api::StoreAnalytics => "https://manage.devcenter.microsoft.com",
        }
    }
}

impl std::fmt::Display for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_any_case() {
        for r in Role::ALL {
            assert_eq!(Role::parse(&r.name().to_lowercase()), Some(r));
        }
        for a in Api::ALL {
            assert_eq!(Api::parse(&a.name().to_uppercase()), Some(a));
        }
        assert_eq!(Role::parse("Admin"), None);
        assert_eq!(Api::parse("graph"), None);
    }
}
