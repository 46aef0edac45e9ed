package privacy

import (
	"fmt"

	"github.com/google/differential-privacy/go/v3/noise"
	"github.com/hcztmm/warehouse/model"
)

// noiseSource yields the noise for one (partitioning, family) budget cell. Production
// hands every cell the library's own Laplace or Gaussian; tests inject a recording noise
// per cell to check that the ε, δ and sensitivities each aggregator receives match the
// ledger.
type noiseSource func(Partitioning, Family) noise.Noise

// libraryNoise returns the library noise of a kind and refuses every other kind: the
// library skips some of its own bound checks for an unrecognised noise, and a custom
// noise could add nothing at all.
func libraryNoise(k NoiseKind) (noise.Noise, error) {
	switch k {
	case Laplace:
		return noise.Laplace(), nil
	case Gaussian:
		return noise.Gaussian(), nil
	}
	return nil, model.Invalid("unsupported noise", model.FieldError{Field: "noise", Rule: "unknown_noise", Value: string(k),
		Message: fmt.Sprintf("noise %q is not one of %q, %q", k, Laplace, Gaussian)})
}

// productionNoise is the noise source Build uses: the library noise of the plan's kind
// for every cell.
func productionNoise(k NoiseKind) (noiseSource, error) {
	n, err := libraryNoise(k)
	if err != nil {
		return nil, err
	}
	return func(Partitioning, Family) noise.Noise { return n }, nil
}

// checkLibraryNoise makes sure a noise is the library's implementation of the expected
// kind before any aggregator gets it: the aggregators' Noise field is exported and an
// interface, so this is the last line of defence against a no-op noise.
func checkLibraryNoise(n noise.Noise, k NoiseKind) error {
	if n == nil {
		return model.Errorf(model.KindInternal, "privacy: nil noise for %s", k)
	}
	var want noise.Kind
	switch k {
	case Laplace:
		want = noise.LaplaceNoise
	case Gaussian:
		want = noise.GaussianNoise
	default:
		return model.Errorf(model.KindInvalid, "privacy: unsupported noise kind %q", k)
	}
	if n != noise.Laplace() && n != noise.Gaussian() {
		return model.Errorf(model.KindInternal, "privacy: noise %T is not the library's", n)
	}
	if noise.ToKind(n) != want {
		return model.Errorf(model.KindInternal, "privacy: noise %T is not %s", n, k)
	}
	return nil
}
