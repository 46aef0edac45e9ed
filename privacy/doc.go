// Package privacy turns one assessment cycle's submissions into a differentially private
// release of peer statistics: the public cohort grid, the budget split and its cost, the
// library mechanisms, post-processing, the canonical release document and the peer view.
//
// The contract it keeps (DESIGN.md §5), and where each part lives:
//
//   - Unit of privacy = organisation. Build takes one Record per organisation and refuses
//     duplicate organisation IDs; every mechanism is calibrated for one organisation's
//     whole contribution to the cells it touches (MaxPartitionsContributed = the number of
//     subjects in the family: 1, the domains, or the capabilities). build.go.
//   - Public grid. Cohort keys come from the model (partition.go), never from the data;
//     every cell of every released partitioning is computed, empty cells included, so the
//     existence of a cohort reveals nothing.
//   - Budget. A Request is turned into a Plan whose Cost splits the release ε (and δ) over
//     partitioning × metric family in integer units of 1e-9 (δ: 1e-18), so the entries
//     add up exactly to the total. Sequential composition across partitionings and
//     families, parallel composition across the disjoint cohorts of one partitioning.
//     budget.go, request.go.
//   - Noise comes only from github.com/google/differential-privacy/go/v3 dpagg aggregators
//     with Noise set explicitly to noise.Laplace() or noise.Gaussian(); any other noise is
//     refused (noise.go, mechanisms.go). No value in this package is noised by hand.
//   - Suppression is decided on the noisy count only: a cohort is published when the
//     lower end of the count's one-sided (1-SuppressionRisk) confidence bound reaches the
//     publication threshold, so a cohort with fewer true members than the threshold is
//     published with probability below SuppressionRisk whatever the noise scale. The exact
//     n is never compared, stored or emitted. build.go (publishable).
//   - Post-processing after the noise, explicit and free: histograms projected onto the
//     non-negative simplex summing to the published count, shares in [0,1] summing to 1,
//     means clamped to [0,100], quantiles monotone; the raw noisy values travel alongside.
//     postprocess.go.
//   - Uncertainty travels with every figure: a 95% interval (library intervals for
//     counts and sums, union bounds for ratios, a rank-error bound for quantiles) and the
//     mechanism's parameters. release.go; values.go gives the long form for storage.
//   - A Release is computed once and its canonical encoding (Encode) is stored and served
//     byte for byte; recomputing would let an attacker average the noise away.
//
// The warehouse persists Plans' costs in the budget ledger and Releases' bytes; api and
// dashboards read only stored releases, through PeerCohort and PeerPosition (peer.go).
//
// What ε buys (measured on a synthetic 6,000-organisation population; run
// PRIVACY_REPORT=1 go test -run UtilityReport -v): at the default release ε = 1 with the
// default split, national figures are useful (posture shares ±2.5 points, mean index ±3.4,
// domain means ±5), size and region figures are coarse (posture shares ±4 to ±6 points),
// and the finest cohorts mostly show counts and posture shapes. The publication floor of
// a cohort is about PublicationThreshold + ln(1/(2·SuppressionRisk))/ε_count organisations.
package privacy
