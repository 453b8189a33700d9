//! The working-day calendar of the People's Republic of China, and the ledger deadlines that
//! follow from it (DESIGN §2): a quarterly ledger is due at the end of the fifth working day after
//! the quarter's last day, the year's materials by 1 December.
//!
//! A day is a working day when it is a weekday that is not a public holiday, or a weekend day
//! declared a make-up working day (调休). Each year's holidays and make-up days are set by a
//! notice of the General Office of the State Council (国务院办公厅关于 YYYY 年部分节假日安排的通知),
//! published in the autumn before. The notices for 2019 through 2026 are built in below, with the
//! amendments that followed them; an admin stores any other year (or a correction) in the
//! database, which then takes precedence over the built-in year.
//!
//! A year is kept as the dates that fall in it: a notice whose New Year holiday begins on 30
//! December lists that day under the year before (2023's notice put 2022-12-31 off).
//! Counting into a year the calendar does not hold is an error, never a guess.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};

/// How many working days after a quarter's last day its ledger is due (the 2019 plan:
/// "每季度结束后 5 个工作日内").
pub const LEDGER_WORKING_DAYS: u32 = 5;

/// The years an admin may store: the cooperation began in 2016; the upper bound keeps typos out.
pub const SETTABLE_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// The most days one `working_days` answer may span.
pub const MAX_RANGE_DAYS: i64 = 366;

/// The longest `source` (the notice a stored year comes from).
pub const SOURCE_MAX: usize = 500;

/// At most this many dates per list when an admin sets a year (a year has about 30 holidays).
pub const MAX_DATES_PER_LIST: usize = 100;

/// Asia/Shanghai, which has kept UTC+8 without daylight saving since 1991.
pub const SHANGHAI: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

const END_OF_DAY: NaiveTime = match NaiveTime::from_hms_opt(23, 59, 59) {
    Some(time) => time,
    None => panic!("23:59:59 is a valid time"),
};

/// One year of the calendar: the dates that are off although they may be weekdays, and the
/// weekend dates that are worked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YearDays {
    pub year: i32,
    pub holidays: BTreeSet<NaiveDate>,
    pub workdays: BTreeSet<NaiveDate>,
    /// The notice (or notices) the dates come from.
    pub source: Option<String>,
    /// Shipped with the service rather than stored by an admin.
    pub built_in: bool,
}

impl YearDays {
    /// Checks one year as an admin sends it. Each message is worded for the field it is pushed
    /// under (`holidays[3]`, `workdays[0]`); every problem is reported, not only the first.
    pub fn parse(
        year: i32,
        holidays: &[NaiveDate],
        workdays: &[NaiveDate],
        source: Option<String>,
    ) -> Result<Self, Vec<(String, String)>> {
        let mut errors = Vec::new();
        if !SETTABLE_YEARS.contains(&year) {
            errors.push((
                "year".to_string(),
                format!(
                    "must be between {} and {}",
                    SETTABLE_YEARS.start(),
                    SETTABLE_YEARS.end()
                ),
            ));
        }
        let mut check_list = |name: &str, dates: &[NaiveDate], weekend_only: bool| {
            let mut seen = BTreeSet::new();
            if dates.len() > MAX_DATES_PER_LIST {
                errors.push((
                    name.to_string(),
                    format!("must hold at most {MAX_DATES_PER_LIST} dates"),
                ));
            }
            for (i, date) in dates.iter().enumerate() {
                let field = format!("{name}[{i}]");
                if date.year() != year {
                    errors.push((field, format!("{date} is not a date in {year}")));
                } else if !seen.insert(*date) {
                    errors.push((field, format!("{date} is listed twice")));
                } else if weekend_only && !is_weekend(*date) {
                    errors.push((
                        field,
                        format!(
                            "{date} is a {}, a working day anyway: only a Saturday or a Sunday can \
                             be declared a make-up working day",
                            weekday_name(date.weekday())
                        ),
                    ));
                }
            }
            seen
        };
        let holiday_set = check_list("holidays", holidays, false);
        let workday_set = check_list("workdays", workdays, true);
        for (i, date) in workdays.iter().enumerate() {
            if holiday_set.contains(date) {
                errors.push((
                    format!("workdays[{i}]"),
                    format!("{date} is also listed as a holiday"),
                ));
            }
        }
        let source = match source.map(|text| super::Text::parse(&text, SOURCE_MAX)) {
            None => None,
            Some(Ok(text)) => Some(text.into_inner()),
            Some(Err(message)) => {
                errors.push(("source".to_string(), message));
                None
            }
        };
        if errors.is_empty() {
            Ok(Self {
                year,
                holidays: holiday_set,
                workdays: workday_set,
                source,
                built_in: false,
            })
        } else {
            Err(errors)
        }
    }

    fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.holidays.contains(&date) {
            false
        } else {
            self.workdays.contains(&date) || !is_weekend(date)
        }
    }
}

/// The calendar has no entry for this year: an admin has to set it first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YearNotSet(pub i32);

/// The calendar as the service uses it: the built-in years, with the years an admin stored laid
/// over them.
#[derive(Clone, Debug)]
pub struct Calendar {
    years: BTreeMap<i32, YearDays>,
}

impl Calendar {
    /// The years shipped with the service (2019 through 2026).
    pub fn built_in() -> Self {
        let years = BUILT_IN
            .iter()
            .map(|y| (y.year, y.days()))
            .collect::<BTreeMap<_, _>>();
        Self { years }
    }

    /// Lays a stored year over whatever the calendar held for it.
    pub fn set(&mut self, days: YearDays) {
        self.years.insert(days.year, days);
    }

    pub fn year(&self, year: i32) -> Option<&YearDays> {
        self.years.get(&year)
    }

    pub fn years(&self) -> impl Iterator<Item = &YearDays> {
        self.years.values()
    }

    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, YearNotSet> {
        self.years
            .get(&date.year())
            .map(|y| y.is_working_day(date))
            .ok_or(YearNotSet(date.year()))
    }

    /// The `n`-th working day after `date` (`n` ≥ 1; `date` itself never counts).
    pub fn nth_working_day_after(&self, date: NaiveDate, n: u32) -> Result<NaiveDate, YearNotSet> {
        let mut day = date;
        let mut counted = 0;
        while counted < n {
            day = day
                .checked_add_days(Days::new(1))
                .ok_or(YearNotSet(date.year() + 1))?;
            if self.is_working_day(day)? {
                counted += 1;
            }
        }
        Ok(day)
    }

    /// The working days from `from` through `to`, both included.
    pub fn working_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<NaiveDate>, YearNotSet> {
        let mut days = Vec::new();
        for day in from.iter_days().take_while(|d| *d <= to) {
            if self.is_working_day(day)? {
                days.push(day);
            }
        }
        Ok(days)
    }

    /// The day a quarterly ledger is due: the fifth working day after the quarter's last day.
    pub fn ledger_due_on(&self, year: i32, quarter: i32) -> Result<NaiveDate, YearNotSet> {
        let end = quarter_end(year, quarter).ok_or(YearNotSet(year))?;
        self.nth_working_day_after(end, LEDGER_WORKING_DAYS)
    }
}

/// The last day of a quarter (1–4), or `None` for any other quarter or an unrepresentable year.
pub fn quarter_end(year: i32, quarter: i32) -> Option<NaiveDate> {
    match quarter {
        1 => NaiveDate::from_ymd_opt(year, 3, 31),
        2 => NaiveDate::from_ymd_opt(year, 6, 30),
        3 => NaiveDate::from_ymd_opt(year, 9, 30),
        4 => NaiveDate::from_ymd_opt(year, 12, 31),
        _ => None,
    }
}

/// The year's materials are due by 1 December (the 2019 plan: "12 月 1 日前"), whatever the
/// weekday.
pub fn annual_due_on(year: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, 12, 1)
}

/// The last instant of a due day, 23:59:59 in Asia/Shanghai, in UTC: anything submitted up to
/// and including it is on time.
pub fn deadline_at(due_on: NaiveDate) -> DateTime<Utc> {
    // A fixed offset maps every local time to one instant: UTC is 8 hours earlier.
    (due_on.and_time(END_OF_DAY) - SHANGHAI).and_utc()
}

pub fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// A span of days off, first and last day included, as (month, day) in the year.
type Span = ((u32, u32), (u32, u32));

struct BuiltInYear {
    year: i32,
    source: &'static str,
    holidays: &'static [Span],
    workdays: &'static [(u32, u32)],
}

impl BuiltInYear {
    fn days(&self) -> YearDays {
        let date = |(m, d): (u32, u32)| NaiveDate::from_ymd_opt(self.year, m, d);
        let holidays = self
            .holidays
            .iter()
            .filter_map(|&(first, last)| Some((date(first)?, date(last)?)))
            .flat_map(|(first, last)| first.iter_days().take_while(move |d| *d <= last))
            .collect();
        let workdays = self.workdays.iter().filter_map(|&md| date(md)).collect();
        YearDays {
            year: self.year,
            holidays,
            workdays,
            source: Some(self.source.to_string()),
            built_in: true,
        }
    }
}

/// The State Council's notices, 2019 through 2026. Spans list the days off as the notice
/// states them ("放假调休，共 N 天"), weekends inside them included; workdays are the weekend days
/// it declares worked ("上班").
const BUILT_IN: &[BuiltInYear] = &[
    BuiltInYear {
        year: 2019,
        source: "国务院办公厅关于2019年部分节假日安排的通知（国办发明电〔2018〕15号）；\
                 国务院办公厅关于调整2019年劳动节假期安排的通知（国办发明电〔2019〕3号，2019年3月22日）",
        holidays: &[
            ((1, 1), (1, 1)),   // 元旦 (30–31 December 2018 off, 29 December 2018 worked)
            ((2, 4), (2, 10)),  // 春节
            ((4, 5), (4, 7)),   // 清明节
            ((5, 1), (5, 4)),   // 劳动节, as amended on 22 March 2019
            ((6, 7), (6, 9)),   // 端午节
            ((9, 13), (9, 15)), // 中秋节
            ((10, 1), (10, 7)), // 国庆节
        ],
        workdays: &[(2, 2), (2, 3), (4, 28), (5, 5), (9, 29), (10, 12)],
    },
    BuiltInYear {
        year: 2020,
        source: "国务院办公厅关于2020年部分节假日安排的通知（国办发明电〔2019〕16号，2019年11月21日）；\
                 国务院办公厅关于延长2020年春节假期的通知（国办发明电〔2020〕1号，2020年1月26日）",
        holidays: &[
            ((1, 1), (1, 1)),   // 元旦
            ((1, 24), (2, 2)),  // 春节, extended to 2 February (1 February no longer worked)
            ((4, 4), (4, 6)),   // 清明节
            ((5, 1), (5, 5)),   // 劳动节
            ((6, 25), (6, 27)), // 端午节
            ((10, 1), (10, 8)), // 国庆节、中秋节
        ],
        workdays: &[(1, 19), (4, 26), (5, 9), (6, 28), (9, 27), (10, 10)],
    },
    BuiltInYear {
        year: 2021,
        source: "国务院办公厅关于2021年部分节假日安排的通知（国办发明电〔2020〕27号，2020年11月25日）",
        holidays: &[
            ((1, 1), (1, 3)),   // 元旦
            ((2, 11), (2, 17)), // 春节
            ((4, 3), (4, 5)),   // 清明节
            ((5, 1), (5, 5)),   // 劳动节
            ((6, 12), (6, 14)), // 端午节
            ((9, 19), (9, 21)), // 中秋节
            ((10, 1), (10, 7)), // 国庆节
        ],
        workdays: &[(2, 7), (2, 20), (4, 25), (5, 8), (9, 18), (9, 26), (10, 9)],
    },
    BuiltInYear {
        year: 2022,
        source: "国务院办公厅关于2022年部分节假日安排的通知（国办发明电〔2021〕11号，2021年10月25日）；\
                 31 December from the notice for 2023",
        holidays: &[
            ((1, 1), (1, 3)),     // 元旦
            ((1, 31), (2, 6)),    // 春节
            ((4, 3), (4, 5)),     // 清明节
            ((4, 30), (5, 4)),    // 劳动节
            ((6, 3), (6, 5)),     // 端午节
            ((9, 10), (9, 12)),   // 中秋节
            ((10, 1), (10, 7)),   // 国庆节
            ((12, 31), (12, 31)), // 元旦 2023
        ],
        workdays: &[(1, 29), (1, 30), (4, 2), (4, 24), (5, 7), (10, 8), (10, 9)],
    },
    BuiltInYear {
        year: 2023,
        source: "国务院办公厅关于2023年部分节假日安排的通知（国办发明电〔2022〕16号，2022年12月8日）",
        holidays: &[
            ((1, 1), (1, 2)),   // 元旦 (from 31 December 2022)
            ((1, 21), (1, 27)), // 春节
            ((4, 5), (4, 5)),   // 清明节
            ((4, 29), (5, 3)),  // 劳动节
            ((6, 22), (6, 24)), // 端午节
            ((9, 29), (10, 6)), // 中秋节、国庆节
        ],
        workdays: &[(1, 28), (1, 29), (4, 23), (5, 6), (6, 25), (10, 7), (10, 8)],
    },
    BuiltInYear {
        year: 2024,
        source: "国务院办公厅关于2024年部分节假日安排的通知（国办发明电〔2023〕7号，2023年10月25日）",
        holidays: &[
            ((1, 1), (1, 1)),   // 元旦
            ((2, 10), (2, 17)), // 春节
            ((4, 4), (4, 6)),   // 清明节
            ((5, 1), (5, 5)),   // 劳动节
            ((6, 10), (6, 10)), // 端午节
            ((9, 15), (9, 17)), // 中秋节
            ((10, 1), (10, 7)), // 国庆节
        ],
        workdays: &[
            (2, 4),
            (2, 18),
            (4, 7),
            (4, 28),
            (5, 11),
            (9, 14),
            (9, 29),
            (10, 12),
        ],
    },
    BuiltInYear {
        year: 2025,
        source: "国务院办公厅关于2025年部分节假日安排的通知（国办发明电〔2024〕12号，2024年11月12日）",
        holidays: &[
            ((1, 1), (1, 1)),   // 元旦
            ((1, 28), (2, 4)),  // 春节
            ((4, 4), (4, 6)),   // 清明节
            ((5, 1), (5, 5)),   // 劳动节
            ((5, 31), (6, 2)),  // 端午节
            ((10, 1), (10, 8)), // 国庆节、中秋节
        ],
        workdays: &[(1, 26), (2, 8), (4, 27), (9, 28), (10, 11)],
    },
    BuiltInYear {
        year: 2026,
        source: "国务院办公厅关于2026年部分节假日安排的通知（2025年11月4日）",
        holidays: &[
            ((1, 1), (1, 3)),   // 元旦
            ((2, 15), (2, 23)), // 春节
            ((4, 4), (4, 6)),   // 清明节
            ((5, 1), (5, 5)),   // 劳动节
            ((6, 19), (6, 21)), // 端午节
            ((9, 25), (9, 27)), // 中秋节
            ((10, 1), (10, 7)), // 国庆节
        ],
        workdays: &[(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn built_in_years_are_well_formed() {
        let cal = Calendar::built_in();
        let years: Vec<i32> = cal.years().map(|y| y.year).collect();
        assert_eq!(years, (2019..=2026).collect::<Vec<_>>());
        for y in cal.years() {
            // What an admin could not store is not shipped either.
            let holidays: Vec<_> = y.holidays.iter().copied().collect();
            let workdays: Vec<_> = y.workdays.iter().copied().collect();
            let parsed = YearDays::parse(y.year, &holidays, &workdays, y.source.clone());
            assert!(parsed.is_ok(), "{}: {parsed:?}", y.year);
            // Every make-up day moves one weekend day into a holiday span, so the weekdays off
            // less the weekend days worked are the statutory holidays: 11 until 2024, 13 from
            // 2025 (the State Council's 2024 amendment), and 13 in 2020, whose Spring Festival
            // was extended by two days.
            let weekdays_off = y.holidays.iter().filter(|d| !is_weekend(**d)).count();
            let statutory = match y.year {
                2020 | 2025.. => 13,
                _ => 11,
            };
            assert_eq!(weekdays_off - y.workdays.len(), statutory, "{}", y.year);
        }
    }

    #[test]
    fn a_make_up_day_is_worked_and_a_holiday_is_not() {
        let cal = Calendar::built_in();
        assert_eq!(cal.is_working_day(d(2019, 10, 12)), Ok(true)); // Saturday, 调休
        assert_eq!(cal.is_working_day(d(2019, 10, 13)), Ok(false)); // Sunday
        assert_eq!(cal.is_working_day(d(2019, 10, 7)), Ok(false)); // Monday, 国庆节
        assert_eq!(cal.is_working_day(d(2019, 10, 8)), Ok(true)); // Tuesday
        assert_eq!(cal.is_working_day(d(2020, 2, 1)), Ok(false)); // no longer worked in 2020
        assert_eq!(cal.is_working_day(d(2018, 12, 28)), Err(YearNotSet(2018)));
    }

    #[test]
    fn counting_starts_the_day_after() {
        let cal = Calendar::built_in();
        assert_eq!(
            cal.nth_working_day_after(d(2019, 6, 30), 1),
            Ok(d(2019, 7, 1))
        );
        assert_eq!(
            cal.nth_working_day_after(d(2019, 7, 1), 1),
            Ok(d(2019, 7, 2))
        );
        assert_eq!(
            cal.nth_working_day_after(d(2019, 7, 1), 0),
            Ok(d(2019, 7, 1))
        );
        // Crossing into a year nobody set is an error, never a weekday guess.
        assert_eq!(
            cal.nth_working_day_after(d(2026, 12, 31), 1),
            Err(YearNotSet(2027))
        );
        assert_eq!(cal.ledger_due_on(2026, 4), Err(YearNotSet(2027)));
        // Past the last representable date, too: the year after it is not set either.
        assert_eq!(
            cal.nth_working_day_after(NaiveDate::MAX, 1),
            Err(YearNotSet(NaiveDate::MAX.year() + 1))
        );
        assert_eq!(cal.ledger_due_on(2019, 5), Err(YearNotSet(2019)));
    }

    #[test]
    fn a_stored_year_extends_and_overrides() {
        let mut cal = Calendar::built_in();
        let year = YearDays::parse(2027, &[d(2027, 1, 1)], &[], None);
        assert!(year.is_ok());
        cal.set(year.unwrap_or_else(|_| YearDays {
            year: 0,
            holidays: BTreeSet::new(),
            workdays: BTreeSet::new(),
            source: None,
            built_in: false,
        }));
        // 2026-12-31 is a Thursday; 2027-01-01 (Friday) off, then the weekend.
        assert_eq!(cal.ledger_due_on(2026, 4), Ok(d(2027, 1, 8)));
        assert_eq!(cal.year(2027).map(|y| y.built_in), Some(false));
    }

    #[test]
    fn working_days_include_both_ends() {
        let cal = Calendar::built_in();
        let days = cal.working_days(d(2019, 9, 28), d(2019, 10, 12));
        assert_eq!(
            days,
            Ok(vec![
                d(2019, 9, 29),
                d(2019, 9, 30),
                d(2019, 10, 8),
                d(2019, 10, 9),
                d(2019, 10, 10),
                d(2019, 10, 11),
                d(2019, 10, 12),
            ])
        );
        assert_eq!(cal.working_days(d(2019, 10, 2), d(2019, 10, 1)), Ok(vec![]));
    }

    #[test]
    fn the_last_second_of_the_due_day_in_shanghai() {
        let at = deadline_at(d(2019, 10, 12));
        assert_eq!(at.to_rfc3339(), "2019-10-12T15:59:59+00:00");
        assert_eq!(annual_due_on(2019), Some(d(2019, 12, 1)));
    }

    #[test]
    fn what_an_admin_sends_is_checked_field_by_field() {
        let errors = YearDays::parse(
            2027,
            &[d(2027, 1, 1), d(2026, 12, 31), d(2027, 1, 1)],
            &[d(2027, 1, 4), d(2027, 1, 1), d(2027, 2, 6)],
            Some("x".repeat(SOURCE_MAX + 1)),
        )
        .err()
        .unwrap_or_default();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "holidays[1]", // not in 2027
                "holidays[2]", // twice
                "workdays[0]", // a Monday
                "workdays[1]", // a Friday, and a holiday
                "workdays[1]",
                "source",
            ]
        );
        assert!(errors[2].1.contains("Monday"), "{errors:?}");
        // The bounds themselves are accepted.
        assert!(YearDays::parse(2000, &[], &[], Some("x".repeat(SOURCE_MAX))).is_ok());
        assert!(YearDays::parse(2000, &[], &[], Some(" \u{7} ".into())).is_err());
        assert!(YearDays::parse(2100, &[], &[d(2100, 1, 2)], None).is_ok()); // a Saturday
        assert!(YearDays::parse(1999, &[], &[], None).is_err());
        assert!(YearDays::parse(2101, &[], &[], None).is_err());
        let too_many: Vec<_> = d(2027, 1, 1).iter_days().take(101).collect();
        assert!(YearDays::parse(2027, &too_many, &[], None).is_err());
        assert!(YearDays::parse(2027, &too_many[..100], &[], None).is_ok());
    }
}
