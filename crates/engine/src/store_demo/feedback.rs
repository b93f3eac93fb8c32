//! The demo world's feedback rows: ratings and reviews per product, and
//! the insights the Store derives. Apart from the app analytics generators
//! (`generators`), which dispatch to them.

use proto::store::InsightDetail;

use super::*;

impl World {
    pub(super) fn insights(&self, t: &mut Table) -> Result<()> {
        for p in PRODUCTS
            .iter()
            .filter(|p| matches!(p.kind, "app" | "desktop"))
        {
            let mut rng = self.rng("insights", p.id);
            let mut day = week_start(self.last) - Duration::days(1);
            while day > self.last - Duration::days(60) {
                let types: &[&str] = if p.kind == "desktop" {
                    &["health"]
                } else {
                    &["acquisition", "health", "usage"]
                };
                for data_type in types {
                    let fact = match *data_type {
                        "health" => "HitCount",
                        "acquisition" => "AcquisitionQuantity",
                        _ => "DailyActiveUsers",
                    };
                    let dimension = match *data_type {
                        "health" => "EventType",
                        "acquisition" => "Market",
                        _ => "DeviceType",
                    };
                    let value = match *data_type {
                        "health" => "crash",
                        "acquisition" => "US",
                        _ => "PC",
                    };
                    let change: f64 = (rng.random::<f64>() * 80.0 - 40.0).round();
                    let direction = if change >= 0.0 {
                        "Positive"
                    } else {
                        "Negative"
                    };
                    let date_text = format!("{} 00:00:00", day.format("%Y-%m-%d"));
                    // The nested entry's value is drawn first, as before.
                    let sub = InsightDetail {
                        date: date_text.clone(),
                        dimension_name: "OsVersion".into(),
                        dimension_value: "Windows 11".into(),
                        direction: direction.into(),
                        fact_name: fact.into(),
                        fact_value: count(&mut rng, 40.0),
                        percent_change: (change / 2.0).round(),
                        sub_dimensions: Vec::new(),
                    };
                    let detail = [InsightDetail {
                        date: date_text,
                        dimension_name: dimension.into(),
                        dimension_value: value.into(),
                        direction: direction.into(),
                        fact_name: fact.into(),
                        fact_value: count(&mut rng, 120.0),
                        percent_change: change,
                        sub_dimensions: vec![sub],
                    }];
                    let detail = serde_json::to_string(&detail).map_err(|e| {
                        EngineError::BadInput(format!("an insight detail as JSON: {e}"))
                    })?;
                    let id: String = (0..4)
                        .map(|_| format!("{:016x}", rng.random::<u64>()))
                        .collect();
                    t.row(&[
                        ("insightDate", D(day)),
                        ("applicationId", S(p.id)),
                        ("dataType", S(data_type)),
                        ("id", S(&id)),
                        ("insightDetail", S(&detail)),
                    ])?;
                }
                day -= Duration::days(7);
            }
        }
        Ok(())
    }

    pub(super) fn ratings(&self, t: &mut Table) -> Result<()> {
        for app in apps() {
            let mut rng = self.rng("ratings", app.id);
            for day in self.days() {
                for market in ["US", "GB", "DE"] {
                    for revised in [0, 1] {
                        let scale = if revised == 1 { 0.2 } else { 1.0 };
                        t.row(&[
                            ("date", D(day)),
                            ("applicationId", S(app.id)),
                            ("applicationName", S(app.name)),
                            ("market", S(market)),
                            ("osVersion", S("Windows 11")),
                            ("deviceType", S("PC")),
                            ("isRevised", I(revised)),
                            ("fiveStars", I(count(&mut rng, 6.0 * scale))),
                            ("fourStars", I(count(&mut rng, 3.0 * scale))),
                            ("threeStars", I(count(&mut rng, 1.5 * scale))),
                            ("twoStars", I(count(&mut rng, 0.7 * scale))),
                            ("oneStar", I(count(&mut rng, 1.0 * scale))),
                        ])?;
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) fn reviews(&self, t: &mut Table) -> Result<()> {
        const TITLES: &[(&str, &str, i64)] = &[
            (
                "Great app",
                "Works great on my laptop, the new filters are lovely.",
                5,
            ),
            (
                "Crashes on start",
                "It crashes every time I open a large file. Please fix.",
                1,
            ),
            (
                "Good but slow",
                "Does what it says but it's slow to load.",
                3,
            ),
            ("Love it", "Best app of its kind in the Store.", 5),
            (
                "Needs dark mode",
                "Please add a dark mode, otherwise fine.",
                4,
            ),
        ];
        for app in apps() {
            let mut rng = self.rng("reviews", app.id);
            for day in self.days() {
                for _ in 0..count(&mut rng, 2.0) {
                    let (title, text, rating) = TITLES[rng.random_range(0..TITLES.len())];
                    let responded = rating <= 3 && rng.random::<f64>() < 0.5;
                    let second = rng.random_range(0..86_400u32);
                    let (h, m, s) = (second / 3600, second / 60 % 60, second % 60);
                    let submitted = format!(
                        "{}/{}/{} {}:{:02}:{:02} {}",
                        day.month(),
                        day.day(),
                        day.year(),
                        if h % 12 == 0 { 12 } else { h % 12 },
                        m,
                        s,
                        if h < 12 { "AM" } else { "PM" }
                    );
                    let id = guid(&mut rng);
                    let response_date = if responded {
                        format!("{}", (day + Duration::days(1)).format("%Y-%m-%d"))
                    } else {
                        String::new()
                    };
                    let mut c: Vec<(&str, CellRef<'_>)> = vec![
                        ("date", D(day)),
                        ("submittedAt", S(&submitted)),
                        ("applicationId", S(app.id)),
                        ("applicationName", S(app.name)),
                        ("market", S(pick(&mut rng, MARKETS))),
                        ("osVersion", S("Windows 11")),
                        ("deviceType", S("PC")),
                        ("isRevised", I(i64::from(rng.random::<f64>() < 0.1))),
                        ("packageVersion", S("1.5.1.0")),
                        ("deviceModel", S("Surface Laptop 5")),
                        ("productFamily", S("PC")),
                        ("deviceRAM", I([8192, 16384, 32768][rng.random_range(0..3)])),
                        ("deviceScreenResolution", S("2256 x 1504")),
                        (
                            "deviceStorageCapacity",
                            I([256, 512, 1024][rng.random_range(0..3)]),
                        ),
                        ("isTouchEnabled", I(i64::from(rng.random::<bool>()))),
                        (
                            "reviewerName",
                            S(["Alex", "Sam", "Kim", "Jo"][rng.random_range(0..4)]),
                        ),
                        ("rating", I(rating)),
                        ("reviewTitle", S(title)),
                        ("reviewText", S(text)),
                        ("helpfulCount", I(rng.random_range(0..20))),
                        ("notHelpfulCount", I(rng.random_range(0..5))),
                        ("id", S(&id)),
                    ];
                    if responded {
                        c.push(("responseDate", S(&response_date)));
                        c.push((
                            "responseText",
                            S("Thanks for the report, a fix ships in 1.5.2."),
                        ));
                    }
                    t.row(&c)?;
                }
            }
        }
        Ok(())
    }
}
