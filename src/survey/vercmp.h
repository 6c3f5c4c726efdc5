/* vercmp.h - ordering of firmware and software versions as vendors write them.
 *
 * The rules (docs/SURVEY-IDENT.md has examples):
 * 1. Case does not matter. Leading blanks and a "v"/"V" before a digit are ignored
 *    ("V15.03.05.19" = "15.03.05.19").
 * 2. A "_" followed by a letter starts a tag that is not part of the order: region,
 *    language or variant ("15.03.05.19_multi" = "15.03.05.19", "_EN", "_TD01").
 * 3. A build qualifier, "build N" / "Build N" / "buildN" (with or without a blank), or a
 *    "B"/"b" directly between a digit and a digit ("2.06B01"), splits the version into a
 *    release and a build; everything after it ("Build 20221125 Rel. 57014") is the build.
 *    Builds are compared only when both sides have one: "1.1.3 Build 20221125" = "1.1.3"
 *    (a range that names the release covers all its builds) and < "1.1.3 Build 20230101".
 * 4. The rest is split into numbers (runs of digits, compared as numbers of any length,
 *    leading zeros ignored: "15.03" = "15.3") and words (runs of letters); every other
 *    character only separates ("5.21(aazf.7)c0", "13.1-49.13", "10.2.3-h4").
 * 5. Items are compared in order: number with number by value, word with word
 *    alphabetically, a number is greater than a word ("1.2.3" > "1.2.beta").
 * 6. When one side runs out: remaining zeros do not count ("1.0" = "1.0.0"); a remaining
 *    pre-release word ("alpha", "beta", "pre", "rc", "dev", "snapshot") makes that side
 *    smaller ("1.2rc1" < "1.2"); anything else makes the longer side greater ("6.49.10" >
 *    "6.49", "10.2.3-h4" > "10.2.3", "1.0.2a" > "1.0.2").
 * Caps: only the first VERCMP_MAX_LEN bytes of each side are compared.
 */
#ifndef BS_SURVEY_VERCMP_H
#define BS_SURVEY_VERCMP_H

#define VERCMP_MAX_LEN 256u

/* Returns <0, 0 or >0 as a orders before, the same as or after b. NULL sorts before any
 * string; "" is a version with no items (equal to "0"). */
int vercmp(const char *a, const char *b);

#endif
