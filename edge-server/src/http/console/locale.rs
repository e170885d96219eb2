//! Numbers and money in the admin's own conventions: `€1,234.50` for `en`, `1.234,50 €` for
//! `de`, `1 234,50 €` for `fr`. The words stay English; the figures follow the browser's
//! `Accept-Language`, through ICU4X's CLDR data (compiled in, so no lookup at run time).
//!
//! The locale is the request's, set once by [`scoped`] around every console handler, the
//! way Django and Rails activate a request's locale: the views that format a figure are many
//! and deep, and passing the locale through each of them would only thread a value that
//! never changes within a request. A task-local rather than a thread-local, because actix
//! runs other requests' futures on the same thread between awaits. Outside a request (unit
//! tests, the API's text) the figures are `en`'s.
//!
//! The formatters are built once per thread and locale, and at most [`CACHED`] are kept: a
//! header can name any locale, so the cache must not grow with what browsers send.

use std::cell::RefCell;
use std::rc::Rc;

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{AcceptLanguage, Header, Preference};
use fixed_decimal::Decimal;
use icu_decimal::DecimalFormatter;
use icu_experimental::dimension::currency::formatter::CurrencyFormatter;
use icu_experimental::dimension::currency::CurrencyCode;
use icu_experimental::dimension::percent::formatter::PercentFormatter;
use icu_locale_core::{locale, Locale};
use writeable::Writeable;

tokio::task_local! {
    static LOCALE: Locale;
}

/// Formatters kept per thread; the oldest goes when another locale comes.
const CACHED: usize = 8;

/// The formatters of one locale.
struct Formats {
    locale: Locale,
    decimal: DecimalFormatter,
    currency: CurrencyFormatter,
    percent: PercentFormatter<DecimalFormatter>,
}

thread_local! {
    static FORMATS: RefCell<Vec<Rc<Formats>>> = const { RefCell::new(Vec::new()) };
}

/// Runs the console's handler with the locale its request asks for.
pub async fn scoped(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let locale = negotiate(AcceptLanguage::parse(&req).ok());
    LOCALE.scope(locale, next.call(req)).await
}

/// The first well-formed locale of the header, by quality; `en` when there is none. ICU4X's
/// data falls back along CLDR's parents (`de-AT` → `de` → root), so a regional tag a browser
/// sends is kept whole.
fn negotiate(header: Option<AcceptLanguage>) -> Locale {
    header
        .into_iter()
        .flat_map(|h| h.ranked())
        .find_map(|p| match p {
            Preference::Specific(tag) => Locale::try_from_str(tag.as_str())
                .ok()
                .filter(|l| l.id.language != icu_locale_core::subtags::Language::UNKNOWN),
            Preference::Any => None,
        })
        .unwrap_or(locale!("en"))
}

impl Formats {
    fn new(locale: Locale) -> Option<Formats> {
        Some(Formats {
            decimal: DecimalFormatter::try_new((&locale).into(), Default::default()).ok()?,
            currency: CurrencyFormatter::try_new((&locale).into(), Default::default()).ok()?,
            percent: PercentFormatter::try_new((&locale).into(), Default::default()).ok()?,
            locale,
        })
    }
}

/// The current request's formatters.
fn with<R>(f: impl FnOnce(&Formats) -> R) -> R {
    let locale = LOCALE.try_with(Locale::clone).unwrap_or(locale!("en"));
    let formats = FORMATS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(found) = cache.iter().find(|f| f.locale == locale) {
            return Rc::clone(found);
        }
        // Compiled data falls back to the root locale, so building fails only if ICU4X's
        // data lacks a key it needs; then `en`, which every build has.
        let made =
            Rc::new(Formats::new(locale).unwrap_or_else(|| {
                Formats::new(locale!("en")).expect("ICU4X's compiled data has en")
            }));
        if cache.len() == CACHED {
            cache.remove(0);
        }
        cache.push(Rc::clone(&made));
        made
    });
    f(&formats)
}

/// A whole number with the locale's grouping: `12,345` (en), `12.345` (de).
pub fn number(n: u64) -> String {
    with(|f| {
        f.decimal
            .format(&Decimal::from(n))
            .write_to_string()
            .into_owned()
    })
}

/// A number with `places` decimals, rounded: `1.23` (en), `1,23` (de).
pub fn decimal(x: f64, places: i16) -> String {
    with(|f| {
        f.decimal
            .format(&rounded(x, places))
            .write_to_string()
            .into_owned()
    })
}

/// A number with at most `places` decimals, and none it does not need: `12.5`, `12`.
pub fn up_to(x: f64, places: i16) -> String {
    let mut d = rounded(x, places);
    d.trim_end();
    with(|f| f.decimal.format(&d).write_to_string().into_owned())
}

/// A share (0.42 is 42 %) rounded to a whole percent: `42%` (en), `42 %` (de).
pub fn percent(share: f64) -> String {
    let d = rounded(share * 100.0, 0);
    with(|f| f.percent.format(&d).write_to_string().into_owned())
}

fn rounded(x: f64, places: i16) -> Decimal {
    let scaled = (x * 10f64.powi(places.into())).round();
    // Past 10^30 there is no figure a person reads anyway; NaN is 0 (`as` saturates).
    let mut d = Decimal::from(scaled.clamp(-1e30, 1e30) as i128);
    d.multiply_pow10(-places);
    d
}

/// An amount in ten-thousandths (the store's units) in `currency`: rounded (half away from
/// zero) to the currency's ISO 4217 decimals, then written as the locale writes money:
/// `€1,234.50`, `¥1,235`, `-€0.50`, `KWD 1,234.568` (en); `1.234,50 €` (de). A code ISO 4217
/// does not know (the shop's own) gets 2 decimals and its code.
pub fn amount_in(units: i128, currency: &str) -> String {
    let decimals = iso_currency::Currency::from_code(currency)
        .and_then(|c| c.exponent())
        .map_or(2, u32::from)
        .min(4);
    let step = 10u128.pow(4 - decimals);
    let rounded = (units.unsigned_abs() + step / 2) / step;
    // A sum of every amount a store can hold fits in i128 (see `Units`); rounding only
    // shrinks it.
    let magnitude = i128::try_from(rounded).unwrap_or(i128::MAX);
    // No minus on an amount that rounds to zero: `from(0)` has no sign.
    let mut d = Decimal::from(if units < 0 { -magnitude } else { magnitude });
    d.multiply_pow10(-(decimals as i16));
    match tinystr::TinyAsciiStr::<3>::try_from_str(currency) {
        Ok(code) => with(|f| {
            f.currency
                .format_fixed_decimal(&d, &CurrencyCode(code))
                .write_to_string()
                .into_owned()
        }),
        Err(_) => with(|f| format!("{} {currency}", f.decimal.format(&d).write_to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn under<R>(tag: &str, f: impl FnOnce() -> R) -> R {
        LOCALE.sync_scope(tag.parse().unwrap(), f)
    }

    #[test]
    fn money_has_its_currencys_decimals_and_the_locales_form() {
        assert_eq!(
            amount_in(1_216_750, "EUR"),
            "€121.68",
            "half away from zero"
        );
        assert_eq!(amount_in(690_000, "EUR"), "€69.00");
        assert_eq!(amount_in(12_345_000_000, "USD"), "$1,234,500.00");
        assert_eq!(amount_in(-5_000, "EUR"), "-€0.50");
        assert_eq!(amount_in(-40, "EUR"), "€0.00", "no minus on a zero");
        assert_eq!(amount_in(12_345_000, "JPY"), "¥1,235");
        assert_eq!(amount_in(12_345_678, "KWD"), "KWD\u{a0}1,234.568");
        assert_eq!(amount_in(1_000_000, "CHF"), "CHF\u{a0}100.00");
        assert_eq!(
            under("de-DE", || amount_in(12_345_000, "EUR")),
            "1.234,50\u{a0}€"
        );
        assert_eq!(
            under("fr", || amount_in(12_345_000, "EUR")),
            "1\u{202f}234,50\u{a0}€"
        );
        assert_eq!(under("es", || amount_in(-5_000, "EUR")), "-0,50\u{a0}€");
        assert_eq!(under("en-GB", || amount_in(10_000, "USD")), "US$1.00");
    }

    #[test]
    fn numbers_follow_the_locales_grouping() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(1_234_567), "1,234,567");
        assert_eq!(number(u64::MAX), "18,446,744,073,709,551,615");
        assert_eq!(under("de", || number(1_234_567)), "1.234.567");
        assert_eq!(decimal(1.226, 2), "1.23");
        assert_eq!(decimal(0.5, 0), "1");
        assert_eq!(decimal(f64::NAN, 2), "0.00");
        assert_eq!(under("de", || decimal(1.226, 2)), "1,23");
        assert_eq!(percent(0.999), "100%");
        assert_eq!(under("de", || percent(0.42)), "42\u{a0}%");
        assert_eq!(up_to(12.5, 2), "12.5");
        assert_eq!(up_to(1200.0, 2), "1,200");
        assert_eq!(up_to(-0.004, 2), "0", "no minus on a zero");
    }

    #[test]
    fn the_locale_is_the_first_acceptable_one_by_quality() {
        let of = |h: &str| {
            let req = TestRequest::default()
                .insert_header(("Accept-Language", h))
                .to_http_request();
            negotiate(AcceptLanguage::parse(&req).ok()).to_string()
        };
        assert_eq!(of("de-DE,de;q=0.9,en;q=0.8"), "de-DE");
        assert_eq!(of("en;q=0.5, fr-CH"), "fr-CH");
        assert_eq!(of("*"), "en");
        assert_eq!(of("not a locale!!, es"), "es");
        assert_eq!(of(""), "en");
        assert_eq!(negotiate(None).to_string(), "en");
    }

    #[test]
    fn the_cache_keeps_a_few_locales_whatever_browsers_send() {
        for tag in [
            "de", "fr", "es", "it", "pt", "nl", "sv", "da", "fi", "pl", "cs",
        ] {
            under(tag, || number(1));
        }
        FORMATS.with(|c| assert_eq!(c.borrow().len(), CACHED));
    }
}
