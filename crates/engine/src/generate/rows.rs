//! How each column is filled (`gen_for` picks a generator from the
//! column's name and type) and one chunk of rows made from its own seeded
//! stream (`chunk`).

use super::*;

/// How one column is filled.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(super) enum Gen {
    TenantId,
    Tpid,
    CustomerName,
    TenantName,
    Domain,
    Market,
    Segment,
    Industry,
    Duns,
    Status,
    MpnId,
    PgaMpnId,
    PartnerName,
    PartnerCountry,
    City,
    Attribution,
    Channel,
    Product,
    Sku,
    PartNumber,
    Subscription,
    App,
    Level,
    YesNo,
    Flag,
    RowDate,
    OtherDate,
    Seats,
    SmallInt,
    Money,
    Percent,
    Ratio,
    UserId,
    Vocabulary,
}

pub(super) fn gen_for(column: &Column, dataset: &Dataset) -> Gen {
    let n = column.name.to_ascii_lowercase();
    let has = |s: &str| n.contains(s);
    if dataset
        .date_column
        .as_deref()
        .is_some_and(|d| d.eq_ignore_ascii_case(&column.name))
    {
        return Gen::RowDate;
    }
    match column.ty {
        ColumnType::Date => Gen::OtherDate,
        ColumnType::Int => {
            if n.starts_with("is") || n.starts_with("has") {
                Gen::Flag
            } else if has("seat")
                || has("unit")
                || has("user")
                || has("license")
                || has("count")
                || has("participant")
            {
                Gen::Seats
            } else {
                Gen::SmallInt
            }
        }
        ColumnType::Float => {
            if has("percent") || has("pct") || has("rate") {
                Gen::Percent
            } else if has("revenue")
                || has("acr")
                || has("usd")
                || has("amount")
                || has("cost")
                || has("price")
            {
                Gen::Money
            } else {
                Gen::Ratio
            }
        }
        ColumnType::String => {
            if n == "customertenantid" || n == "tenantid" {
                Gen::TenantId
            } else if n.contains("tpid") {
                Gen::Tpid
            } else if n == "customername" || n == "organizationname" {
                Gen::CustomerName
            } else if n == "customertenantname" {
                Gen::TenantName
            } else if has("domain") {
                Gen::Domain
            } else if n.starts_with("pga") && (n.ends_with("mpnid") || n.ends_with("mpn_id")) {
                Gen::PgaMpnId
            } else if n.ends_with("mpnid")
                || n == "mpn_id"
                || n == "partnerid"
                || n == "partneronesubid"
            {
                Gen::MpnId
            } else if (has("partner") || has("reseller")) && has("name") {
                Gen::PartnerName
            } else if has("partner") && (has("location") || has("country")) {
                Gen::PartnerCountry
            } else if has("market") || has("country") || has("geo") || has("region") {
                Gen::Market
            } else if has("segment") {
                Gen::Segment
            } else if has("industry") || has("vertical") || n == "eou" {
                Gen::Industry
            } else if has("duns") {
                Gen::Duns
            } else if has("status") {
                Gen::Status
            } else if n == "city" {
                Gen::City
            } else if has("attribution") {
                Gen::Attribution
            } else if has("channel") {
                Gen::Channel
            } else if n == "sku" || has("skuname") {
                Gen::Sku
            } else if has("partnumber") {
                Gen::PartNumber
            } else if has("product") || has("workload") || has("offer") {
                Gen::Product
            } else if has("subscriptionid") {
                Gen::Subscription
            } else if has("app") {
                Gen::App
            } else if has("propensity") || has("score") || has("likelihood") || has("level") {
                Gen::Level
            } else if n.starts_with("has") || n.starts_with("is") || has("upsell") || has("renewal")
            {
                Gen::YesNo
            } else if has("user") || n.ends_with("id") {
                Gen::UserId
            } else {
                Gen::Vocabulary
            }
        }
    }
}

/// One column of a chunk while it is being generated.
enum Builder {
    Coded(Vec<u32>, NullBufferBuilder),
    Text(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Date(Date32Builder),
}

/// Makes one chunk of rows of a dataset.
pub(super) fn chunk(
    universe: &Universe,
    dataset: &Dataset,
    columns: &[(Gen, &Column)],
    seed: u64,
    task: Task,
) -> Chunk {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let key = ((task.month as u64) << 32) | task.index;
    rng.set_stream(fnv(dataset.name.as_bytes()) ^ key.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let rows = task.rows;
    let mut builders: Vec<Builder> = columns
        .iter()
        .map(|(kind, c)| match c.ty {
            ColumnType::String if is_coded(*kind) => {
                Builder::Coded(Vec::with_capacity(rows), NullBufferBuilder::new(rows))
            }
            ColumnType::String => Builder::Text(StringBuilder::with_capacity(rows, rows * 12)),
            ColumnType::Int => Builder::Int(Int64Builder::with_capacity(rows)),
            ColumnType::Float => Builder::Float(Float64Builder::with_capacity(rows)),
            ColumnType::Date => Builder::Date(Date32Builder::with_capacity(rows)),
        })
        .collect();
    let month_start = dataset
        .date_column
        .as_deref()
        .map(|d| d.to_ascii_lowercase().contains("month"))
        .unwrap_or(true);
    let mut text = String::new();
    let first = &universe.first;
    for _ in 0..rows {
        let customer_index = universe.customer_cdf.sample(&mut rng);
        let customer = &universe.rows[customer_index];
        let partner_index = customer.partner as usize;
        let partner = &universe.partners[partner_index];
        let month = universe.months[task.month];
        let day = if month_start {
            month
        } else {
            month + chrono::Duration::days(rng.random_range(0..28))
        };
        let product = pick_weighted_index(&mut rng, PRODUCTS, |p| p.3);
        // (Drawn as `usize`, the type the stream of existing seeds was made with.)
        let subscription = customer.first_subscription as usize
            + rng.random_range(0..customer.subscriptions as usize);
        let scale = customer.seats as f64;
        for ((kind, _), builder) in columns.iter().zip(builders.iter_mut()) {
            // Optional columns are sometimes empty, as in the real service.
            let null = !matches!(
                kind,
                Gen::RowDate | Gen::TenantId | Gen::Tpid | Gen::MpnId | Gen::Subscription
            ) && rng.random::<u8>() < 5;
            match builder {
                Builder::Coded(codes, nulls) => {
                    let code = if null {
                        None
                    } else {
                        match kind {
                            Gen::TenantId | Gen::Tpid | Gen::CustomerName | Gen::TenantName => {
                                Some(customer_index as u32)
                            }
                            Gen::Domain => Some(customer.domain),
                            Gen::Duns => (customer.duns != u32::MAX).then_some(customer.duns),
                            Gen::Market => Some(u32::from(customer.market)),
                            Gen::Segment => Some(u32::from(customer.segment)),
                            Gen::Industry => Some(u32::from(customer.industry)),
                            Gen::Status => Some(u32::from(rng.random::<u8>() >= 230)),
                            Gen::MpnId => Some(customer.partner),
                            Gen::PgaMpnId => Some(first.pga_mpn_id[partner_index]),
                            Gen::PartnerName => Some(first.partner_name[partner_index]),
                            Gen::PartnerCountry => Some(partner.country),
                            Gen::City => Some(partner.city),
                            Gen::Attribution => Some(pick_index(&mut rng, ATTRIBUTIONS) as u32),
                            Gen::Channel => Some(pick_weighted(&mut rng, CHANNELS) as u32),
                            Gen::Product => Some(first.product[product]),
                            Gen::Sku => Some(first.sku[product]),
                            Gen::PartNumber => Some(first.part_number[product]),
                            Gen::Subscription => Some(subscription as u32),
                            Gen::App => Some(pick_index(&mut rng, APPS) as u32),
                            Gen::Level => Some(pick_index(&mut rng, LEVELS) as u32),
                            Gen::YesNo => Some(u32::from(!rng.random::<bool>())),
                            // A word of the column's vocabulary, `A` most often.
                            _ => Some(u32::from(
                                (rng.random::<u8>() % 6).min(rng.random::<u8>() % 6),
                            )),
                        }
                    };
                    codes.push(code.unwrap_or(0));
                    nulls.append(code.is_some());
                }
                Builder::Text(b) => {
                    if null {
                        b.append_null();
                        continue;
                    }
                    // A user of the customer's tenant (the only string
                    // column not drawn from a fixed set of values).
                    text.clear();
                    text.push_str(&universe.customers[customer_index].tenant_id[..8]);
                    text.push('-');
                    text.push_str(
                        itoa::Buffer::new().format(rng.random_range(0..(customer.seats.max(1)))),
                    );
                    b.append_value(&text);
                }
                Builder::Int(b) => {
                    if null && !matches!(kind, Gen::Flag) {
                        b.append_null();
                        continue;
                    }
                    let v = match kind {
                        Gen::Flag => i64::from(rng.random::<u8>() < 20),
                        Gen::Seats => (scale * (0.2 + rng.random::<f64>())) as i64,
                        _ => rng.random_range(0..100),
                    };
                    b.append_value(v);
                }
                Builder::Float(b) => {
                    if null {
                        b.append_null();
                        continue;
                    }
                    let v = match kind {
                        Gen::Money => {
                            (scale * (8.0 + 30.0 * rng.random::<f64>()) * 100.0).round() / 100.0
                        }
                        Gen::Percent => (rng.random::<f64>() * 10_000.0).round() / 100.0,
                        _ => (rng.random::<f64>() * 1_000.0).round() / 100.0,
                    };
                    b.append_value(v);
                }
                Builder::Date(b) => {
                    let d = match kind {
                        Gen::RowDate => day,
                        _ => {
                            if null {
                                b.append_null();
                                continue;
                            }
                            day + chrono::Duration::days(rng.random_range(-200..200))
                        }
                    };
                    b.append_value(date_to_days(d));
                }
            }
        }
    }
    let columns = builders
        .into_iter()
        .map(|b| match b {
            Builder::Coded(codes, mut nulls) => Values::Coded {
                codes,
                nulls: nulls.finish(),
            },
            Builder::Text(mut b) => Values::Array(Arc::new(b.finish())),
            Builder::Int(mut b) => Values::Array(Arc::new(b.finish())),
            Builder::Float(mut b) => Values::Array(Arc::new(b.finish())),
            Builder::Date(mut b) => Values::Array(Arc::new(b.finish())),
        })
        .collect();
    Chunk { rows, columns }
}

/// Whether a string column is drawn from a fixed set of values (and so
/// generated as codes into it, see [`text_of`]); only user ids are not.
/// Two codes of one column never name the same string (texts that repeat
/// in their set, like partner names, are given their first code: see
/// `FirstCodes`).
pub(super) fn is_coded(kind: Gen) -> bool {
    !matches!(kind, Gen::UserId)
}

/// How many codes a coded column's kind has (`text_of` takes `0..n`).
pub(super) fn code_count(universe: &Universe, kind: Gen) -> usize {
    match kind {
        Gen::TenantId
        | Gen::Tpid
        | Gen::CustomerName
        | Gen::TenantName
        | Gen::Domain
        | Gen::Duns => universe.customers.len(),
        Gen::MpnId | Gen::PgaMpnId | Gen::PartnerName => universe.partners.len(),
        Gen::Subscription => universe.subscriptions.len(),
        Gen::Market | Gen::PartnerCountry => MARKETS.len(),
        Gen::Segment => SEGMENT_NAMES.len(),
        Gen::Industry => INDUSTRIES.len(),
        Gen::Status | Gen::YesNo => 2,
        Gen::City => CITIES.len(),
        Gen::Attribution => ATTRIBUTIONS.len(),
        Gen::Channel => CHANNELS.len(),
        Gen::Product | Gen::Sku | Gen::PartNumber => PRODUCTS.len(),
        Gen::App => APPS.len(),
        Gen::Level => LEVELS.len(),
        _ => 6,
    }
}

/// The string a code of a coded column stands for.
pub(super) fn text_of<'u>(
    universe: &'u Universe,
    kind: Gen,
    column: &Column,
    code: u32,
) -> Cow<'u, str> {
    let code = code as usize;
    let customer = || &universe.customers[code];
    let partner = || &universe.partners[code];
    Cow::Borrowed(match kind {
        Gen::TenantId => &customer().tenant_id,
        Gen::Tpid => &customer().tpid,
        Gen::CustomerName => &customer().name,
        Gen::TenantName => &customer().tenant_name,
        Gen::Domain => &customer().domain,
        Gen::Duns => customer().duns.as_deref().unwrap_or_default(),
        Gen::Market | Gen::PartnerCountry => MARKETS[code].0,
        Gen::Segment => SEGMENT_NAMES[code],
        Gen::Industry => INDUSTRIES[code],
        Gen::Status => ["Active", "Inactive"][code],
        Gen::MpnId => &partner().mpn_id,
        Gen::PgaMpnId => &partner().pga_mpn_id,
        Gen::PartnerName => &partner().name,
        Gen::City => CITIES[code],
        Gen::Attribution => ATTRIBUTIONS[code],
        Gen::Channel => CHANNELS[code].0,
        Gen::Product => PRODUCTS[code].0,
        Gen::Sku => PRODUCTS[code].1,
        Gen::PartNumber => PRODUCTS[code].2,
        Gen::Subscription => &universe.subscriptions[code],
        Gen::App => APPS[code],
        Gen::Level => LEVELS[code],
        Gen::YesNo => ["Yes", "No"][code],
        _ => return Cow::Owned(format!("{} {}", column.name, char::from(b'A' + code as u8))),
    })
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// One chunk of work: `rows` rows of one month.
#[derive(Clone, Copy)]
pub(super) struct Task {
    pub(super) month: usize,
    pub(super) index: u64,
    pub(super) rows: usize,
}
