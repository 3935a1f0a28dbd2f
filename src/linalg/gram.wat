;; The weighted Gram matrix of the binary logistic loss's Hessian, with WebAssembly SIMD (f64x2):
;;   out[j*d + k] = Σᵢ h[i] · x[j*n + i] · x[k*n + i]   for 0 ≤ j ≤ k < d
;;   out[d*d + j] = Σᵢ h[i] · x[j*n + i]                 (the intercept column)
;;   out[d*d + d] = Σᵢ h[i]
;; x is column-major (d columns of n numbers). Offsets and lengths count float64 elements; `tmp`
;; holds n numbers of scratch. Built into gram-wasm.ts by scripts/build-wasm.mjs.
(module
  (memory (export "memory") 1)
  (func (export "gram") (param $h i32) (param $x i32) (param $n i32) (param $d i32) (param $out i32) (param $tmp i32)
    (local $j i32) (local $i i32) (local $n2 i32)
    (local $hs v128) (local $s f64)
    (local $pj i32)
    (local.set $n2 (i32.and (local.get $n) (i32.const -2)))
    ;; Σ h
    (local.set $hs (v128.const f64x2 0 0))
    (local.set $i (i32.const 0))
    (block $done0 (loop $l0
      (br_if $done0 (i32.ge_u (local.get $i) (local.get $n2)))
      (local.set $hs (f64x2.add (local.get $hs)
        (v128.load (i32.shl (i32.add (local.get $h) (local.get $i)) (i32.const 3)))))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br $l0)))
    (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $hs)) (f64x2.extract_lane 1 (local.get $hs))))
    (if (i32.lt_u (local.get $n2) (local.get $n))
      (then (local.set $s (f64.add (local.get $s)
        (f64.load (i32.shl (i32.add (local.get $h) (local.get $n2)) (i32.const 3)))))))
    (f64.store (i32.shl (i32.add (local.get $out) (i32.add (i32.mul (local.get $d) (local.get $d)) (local.get $d))) (i32.const 3)) (local.get $s))
    ;; the intercept column, Σ h·x_j: four columns per pass (the sums tmp = h·x_j would give, in their order)
    (call $dots (local.get $h) (local.get $x) (local.get $n) (i32.const 0) (local.get $d)
      (i32.add (local.get $out) (i32.mul (local.get $d) (local.get $d))))
    (local.set $j (i32.const 0))
    (block $donej (loop $lj
      (br_if $donej (i32.ge_u (local.get $j) (local.get $d)))
      ;; tmp = h * x_j
      (local.set $pj (i32.add (local.get $x) (i32.mul (local.get $j) (local.get $n))))
      (local.set $i (i32.const 0))
      (block $done1 (loop $l1
        (br_if $done1 (i32.ge_u (local.get $i) (local.get $n2)))
        (v128.store (i32.shl (i32.add (local.get $tmp) (local.get $i)) (i32.const 3)) (f64x2.mul
          (v128.load (i32.shl (i32.add (local.get $h) (local.get $i)) (i32.const 3)))
          (v128.load (i32.shl (i32.add (local.get $pj) (local.get $i)) (i32.const 3)))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $l1)))
      (if (i32.lt_u (local.get $n2) (local.get $n))
        (then
          (f64.store (i32.shl (i32.add (local.get $tmp) (local.get $n2)) (i32.const 3)) (f64.mul
            (f64.load (i32.shl (i32.add (local.get $h) (local.get $n2)) (i32.const 3)))
            (f64.load (i32.shl (i32.add (local.get $pj) (local.get $n2)) (i32.const 3)))))))
      ;; out[j][k] = tmp · x_k for k = j … d−1
      (call $dots (local.get $tmp) (local.get $x) (local.get $n) (local.get $j) (local.get $d)
        (i32.add (local.get $out) (i32.add (i32.mul (local.get $j) (local.get $d)) (local.get $j))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $lj)))
  )
  ;; dst[j*n + i] = src[i*d + j]: row-major n×d to column-major (src and dst must not overlap)
  (func (export "transpose") (param $src i32) (param $n i32) (param $d i32) (param $dst i32)
    (local $j i32) (local $pi i32) (local $po i32) (local $end i32) (local $db i32)
    (local.set $db (i32.shl (local.get $d) (i32.const 3)))
    (local.set $po (i32.shl (local.get $dst) (i32.const 3)))
    (local.set $j (i32.const 0))
    (block $dj (loop $lj
      (br_if $dj (i32.ge_u (local.get $j) (local.get $d)))
      (local.set $pi (i32.shl (i32.add (local.get $src) (local.get $j)) (i32.const 3)))
      (local.set $end (i32.add (local.get $po) (i32.shl (local.get $n) (i32.const 3))))
      (block $di (loop $li
        (br_if $di (i32.ge_u (local.get $po) (local.get $end)))
        (f64.store (local.get $po) (f64.load (local.get $pi)))
        (local.set $pi (i32.add (local.get $pi) (local.get $db)))
        (local.set $po (i32.add (local.get $po) (i32.const 8)))
        (br $li)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $lj))))

  ;; z[i] = b + Σ_j w[j] · x[j*n + i], the terms added in column order; two columns per pass over z
  (func (export "xw") (param $x i32) (param $n i32) (param $d i32) (param $w i32) (param $b f64) (param $z i32)
    (local $i i32) (local $j i32) (local $n2b i32) (local $nb i32) (local $o i32) (local $zb i32)
    (local $w0 f64) (local $w1 f64) (local $p0 i32) (local $p1 i32) (local $pz i32)
    (local.set $nb (i32.shl (local.get $n) (i32.const 3)))
    (local.set $n2b (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3)))
    (local.set $zb (i32.shl (local.get $z) (i32.const 3)))
    (local.set $i (i32.const 0))
    (block $d0 (loop $l0
      (br_if $d0 (i32.ge_u (local.get $i) (local.get $n)))
      (f64.store (i32.shl (i32.add (local.get $z) (local.get $i)) (i32.const 3)) (local.get $b))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l0)))
    (local.set $j (i32.const 0))
    (block $dj (loop $lj
      (br_if $dj (i32.ge_u (local.get $j) (local.get $d)))
      (local.set $w0 (f64.load (i32.shl (i32.add (local.get $w) (local.get $j)) (i32.const 3))))
      (local.set $p0 (i32.shl (i32.add (local.get $x) (i32.mul (local.get $j) (local.get $n))) (i32.const 3)))
      (if (i32.lt_u (i32.add (local.get $j) (i32.const 1)) (local.get $d))
        (then
          ;; z = (z + w_j·x_j) + w_{j+1}·x_{j+1}
          (local.set $w1 (f64.load offset=8 (i32.shl (i32.add (local.get $w) (local.get $j)) (i32.const 3))))
          (local.set $p1 (i32.add (local.get $p0) (local.get $nb)))
          (local.set $o (i32.const 0))
          (block $d1 (loop $l1
            (br_if $d1 (i32.ge_u (local.get $o) (local.get $n2b)))
            (local.set $pz (i32.add (local.get $zb) (local.get $o)))
            (v128.store (local.get $pz) (f64x2.add
              (f64x2.add (v128.load (local.get $pz))
                (f64x2.mul (f64x2.splat (local.get $w0)) (v128.load (i32.add (local.get $p0) (local.get $o)))))
              (f64x2.mul (f64x2.splat (local.get $w1)) (v128.load (i32.add (local.get $p1) (local.get $o))))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $l1)))
          (if (i32.lt_u (local.get $n2b) (local.get $nb))
            (then
              (local.set $pz (i32.add (local.get $zb) (local.get $n2b)))
              (f64.store (local.get $pz) (f64.add
                (f64.add (f64.load (local.get $pz)) (f64.mul (local.get $w0) (f64.load (i32.add (local.get $p0) (local.get $n2b)))))
                (f64.mul (local.get $w1) (f64.load (i32.add (local.get $p1) (local.get $n2b))))))))
          (local.set $j (i32.add (local.get $j) (i32.const 2))))
        (else
          (local.set $o (i32.const 0))
          (block $d2 (loop $l2
            (br_if $d2 (i32.ge_u (local.get $o) (local.get $n2b)))
            (local.set $pz (i32.add (local.get $zb) (local.get $o)))
            (v128.store (local.get $pz) (f64x2.add (v128.load (local.get $pz))
              (f64x2.mul (f64x2.splat (local.get $w0)) (v128.load (i32.add (local.get $p0) (local.get $o))))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br $l2)))
          (if (i32.lt_u (local.get $n2b) (local.get $nb))
            (then
              (local.set $pz (i32.add (local.get $zb) (local.get $n2b)))
              (f64.store (local.get $pz) (f64.add (f64.load (local.get $pz))
                (f64.mul (local.get $w0) (f64.load (i32.add (local.get $p0) (local.get $n2b))))))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))))
      (br $lj))))

  ;; g[j] = Σ_i r[i] · x[j*n + i]
  (func (export "xtr") (param $x i32) (param $n i32) (param $d i32) (param $r i32) (param $g i32)
    (call $dots (local.get $r) (local.get $x) (local.get $n) (i32.const 0) (local.get $d) (local.get $g)))

  ;; out[k − k0] = Σ_i v[i] · x[k*n + i]   for k0 ≤ k < d
  ;; Four columns per pass over v, each with its own accumulator: every sum adds the same terms in
  ;; the same order as one column at a time (even rows in lane 0, odd rows in lane 1, lane 0 + lane 1,
  ;; then the odd last row), so the same bits, without waiting on one add chain.
  (func $dots (param $v i32) (param $x i32) (param $n i32) (param $k0 i32) (param $d i32) (param $out i32)
    (local $k i32) (local $o i32) (local $nb i32) (local $n2b i32) (local $vb i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $t v128) (local $tail f64)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $odd i32)
    (local.set $nb (i32.shl (local.get $n) (i32.const 3)))
    (local.set $n2b (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3)))
    (local.set $odd (i32.and (local.get $n) (i32.const 1)))
    (local.set $vb (i32.shl (local.get $v) (i32.const 3)))
    (local.set $k (local.get $k0))
    (block $done4 (loop $l4
      (br_if $done4 (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $d)))
      (local.set $p0 (i32.shl (i32.add (local.get $x) (i32.mul (local.get $k) (local.get $n))) (i32.const 3)))
      (local.set $p1 (i32.add (local.get $p0) (local.get $nb)))
      (local.set $p2 (i32.add (local.get $p1) (local.get $nb)))
      (local.set $p3 (i32.add (local.get $p2) (local.get $nb)))
      (local.set $a0 (v128.const f64x2 0 0))
      (local.set $a1 (v128.const f64x2 0 0))
      (local.set $a2 (v128.const f64x2 0 0))
      (local.set $a3 (v128.const f64x2 0 0))
      (local.set $o (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $o) (local.get $n2b)))
        (local.set $t (v128.load (i32.add (local.get $vb) (local.get $o))))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $t) (v128.load (i32.add (local.get $p0) (local.get $o))))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $t) (v128.load (i32.add (local.get $p1) (local.get $o))))))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $t) (v128.load (i32.add (local.get $p2) (local.get $o))))))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $t) (v128.load (i32.add (local.get $p3) (local.get $o))))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $l1)))
      (local.set $o (i32.shl (i32.add (local.get $out) (i32.sub (local.get $k) (local.get $k0))) (i32.const 3)))
      (f64.store offset=0 (local.get $o) (call $finish (local.get $a0) (local.get $odd) (local.get $vb) (local.get $p0) (local.get $n2b)))
      (f64.store offset=8 (local.get $o) (call $finish (local.get $a1) (local.get $odd) (local.get $vb) (local.get $p1) (local.get $n2b)))
      (f64.store offset=16 (local.get $o) (call $finish (local.get $a2) (local.get $odd) (local.get $vb) (local.get $p2) (local.get $n2b)))
      (f64.store offset=24 (local.get $o) (call $finish (local.get $a3) (local.get $odd) (local.get $vb) (local.get $p3) (local.get $n2b)))
      (local.set $k (i32.add (local.get $k) (i32.const 4)))
      (br $l4)))
    ;; then two columns, then one
    (if (i32.le_u (i32.add (local.get $k) (i32.const 2)) (local.get $d))
      (then
        (local.set $p0 (i32.shl (i32.add (local.get $x) (i32.mul (local.get $k) (local.get $n))) (i32.const 3)))
        (local.set $p1 (i32.add (local.get $p0) (local.get $nb)))
        (local.set $a0 (v128.const f64x2 0 0))
        (local.set $a1 (v128.const f64x2 0 0))
        (local.set $o (i32.const 0))
        (block $d3 (loop $l3
          (br_if $d3 (i32.ge_u (local.get $o) (local.get $n2b)))
          (local.set $t (v128.load (i32.add (local.get $vb) (local.get $o))))
          (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $t) (v128.load (i32.add (local.get $p0) (local.get $o))))))
          (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $t) (v128.load (i32.add (local.get $p1) (local.get $o))))))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br $l3)))
        (local.set $o (i32.shl (i32.add (local.get $out) (i32.sub (local.get $k) (local.get $k0))) (i32.const 3)))
        (f64.store offset=0 (local.get $o) (call $finish (local.get $a0) (local.get $odd) (local.get $vb) (local.get $p0) (local.get $n2b)))
        (f64.store offset=8 (local.get $o) (call $finish (local.get $a1) (local.get $odd) (local.get $vb) (local.get $p1) (local.get $n2b)))
        (local.set $k (i32.add (local.get $k) (i32.const 2)))))
    (block $done1 (loop $lk
      (br_if $done1 (i32.ge_u (local.get $k) (local.get $d)))
      (local.set $p0 (i32.shl (i32.add (local.get $x) (i32.mul (local.get $k) (local.get $n))) (i32.const 3)))
      (local.set $a0 (v128.const f64x2 0 0))
      (local.set $o (i32.const 0))
      (block $d2 (loop $l2
        (br_if $d2 (i32.ge_u (local.get $o) (local.get $n2b)))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul
          (v128.load (i32.add (local.get $vb) (local.get $o)))
          (v128.load (i32.add (local.get $p0) (local.get $o))))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $l2)))
      (f64.store (i32.shl (i32.add (local.get $out) (i32.sub (local.get $k) (local.get $k0))) (i32.const 3))
        (call $finish (local.get $a0) (local.get $odd) (local.get $vb) (local.get $p0) (local.get $n2b)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $lk))))

  ;; lane 0 + lane 1 of a column's sum, plus v[last] · x[last] when n is odd (byte addresses)
  (func $finish (param $acc v128) (param $odd i32) (param $vb i32) (param $pb i32) (param $n2b i32) (result f64)
    (local $s f64)
    (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))
    (if (local.get $odd)
      (then (local.set $s (f64.add (local.get $s) (f64.mul
        (f64.load (i32.add (local.get $vb) (local.get $n2b)))
        (f64.load (i32.add (local.get $pb) (local.get $n2b))))))))
    (local.get $s))

;; The logistic per-row quantities, two rows per step (the last row alone when n is odd):
;;   e = exp(−|z|),  p = σ(z) = (z ≥ 0 ? 1 : e) / (1 + e),
;;   r[i] = s[i] · (p − y[i]),  h[i] = (s[i] · p) · (1 − p),  ex[i] = e
;; with JavaScript's operations in JavaScript's order, and an exp that is fdlibm's (V8's Math.exp),
;; so every number is the one the JavaScript loop made, to the last bit.
;; The logistic per-row quantities, two rows per step (the last row alone when n is odd):
;;   e = exp(−|z|),  p = σ(z) = (z ≥ 0 ? 1 : e) / (1 + e),
;;   r[i] = s[i] · (p − y[i]),  h[i] = (s[i] · p) · (1 − p),  ex[i] = e
;; with JavaScript's operations in JavaScript's order, and an exp that is fdlibm's (V8's Math.exp),
;; so every number is the one the JavaScript loop made, to the last bit. Everything is inline (a
;; call per pair of rows cost as much as the arithmetic); an odd last row takes one more pass
;; through 12 numbers of scratch just past ex + n.
;; exp(x) for x ≤ 0 (or NaN), lane-wise: fdlibm's __ieee754_exp as V8's Math.exp computes it
;; (src/base/ieee754.cc), every branch taken as a lane mask, every operation in its order.
;;   |x| > ½ln2: k = −1 when |x| < 1.5·ln2, else trunc(x/ln2 − ½); hi = x − k·ln2hi, lo = k·ln2lo,
;;   x ← hi − lo; otherwise k = 0, hi = x, lo = 0 (the k = 0 formula of fdlibm is this one's exactly)
;;   c = x − x²(P1 + x²(P2 + x²(P3 + x²(P4 + x²P5)))),  y = 1 − ((lo − x·c/(2 − c)) − hi),  y · 2ᵏ
;;   (2ᵏ⁺¹⁰⁰⁰ · 2⁻¹⁰⁰⁰ when k < −1021); 1 + x when |x| < 2⁻²⁸; 0 below −745.13.
  (func (export "logistic") (param $z i32) (param $y i32) (param $s i32) (param $n i32) (param $r i32) (param $h i32) (param $ex i32)
    (local $o i32) (local $end i32) (local $sc i32) (local $tail i32) (local $rl i32) (local $hl i32) (local $el i32)
    (local $zv v128) (local $xv v128) (local $sv v128) (local $e v128) (local $inv v128) (local $p v128)
    (local $hx v128) (local $tk v128) (local $hi v128) (local $lo v128) (local $xr v128) (local $t v128)
    (local $c v128) (local $yy v128) (local $ki v128) (local $small v128)
    (local.set $z (i32.shl (local.get $z) (i32.const 3)))
    (local.set $y (i32.shl (local.get $y) (i32.const 3)))
    (local.set $s (i32.shl (local.get $s) (i32.const 3)))
    (local.set $r (i32.shl (local.get $r) (i32.const 3)))
    (local.set $h (i32.shl (local.get $h) (i32.const 3)))
    (local.set $ex (i32.shl (local.get $ex) (i32.const 3)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3)))
    (local.set $sc (i32.add (local.get $ex) (i32.shl (local.get $n) (i32.const 3))))
    (local.set $rl (i32.add (local.get $r) (local.get $end)))
    (local.set $hl (i32.add (local.get $h) (local.get $end)))
    (local.set $el (i32.add (local.get $ex) (local.get $end)))
    (local.set $o (i32.const 0))
    (block $done (loop $l
      (if (i32.ge_u (local.get $o) (local.get $end))
        (then
          (br_if $done (i32.or (local.get $tail) (i32.eqz (i32.and (local.get $n) (i32.const 1)))))
          ;; the odd last row: its z, y, s into scratch pairs, every stream pointed there for one pass
          (f64.store (local.get $sc) (f64.load (i32.add (local.get $z) (local.get $end))))
          (f64.store offset=16 (local.get $sc) (f64.load (i32.add (local.get $y) (local.get $end))))
          (f64.store offset=32 (local.get $sc) (f64.load (i32.add (local.get $s) (local.get $end))))
          (local.set $z (i32.sub (local.get $sc) (local.get $o)))
          (local.set $y (i32.sub (i32.add (local.get $sc) (i32.const 16)) (local.get $o)))
          (local.set $s (i32.sub (i32.add (local.get $sc) (i32.const 32)) (local.get $o)))
          (local.set $r (i32.sub (i32.add (local.get $sc) (i32.const 48)) (local.get $o)))
          (local.set $h (i32.sub (i32.add (local.get $sc) (i32.const 64)) (local.get $o)))
          (local.set $ex (i32.sub (i32.add (local.get $sc) (i32.const 80)) (local.get $o)))
          (local.set $tail (i32.const 1))))
      (local.set $zv (v128.load (i32.add (local.get $z) (local.get $o))))
      (local.set $xv (f64x2.neg (f64x2.abs (local.get $zv))))
      ;; e = exp(xv)
        (local.set $hx (v128.and (i64x2.shr_u (local.get $xv) (i32.const 32)) (v128.const i64x2 0x7fffffff 0x7fffffff)))
        (local.set $tk (v128.bitselect
          (f64x2.trunc (f64x2.add (f64x2.mul (v128.const i64x2 0x3FF71547652B82FE 0x3FF71547652B82FE) (local.get $xv)) (v128.const f64x2 -0.5 -0.5)))
          (v128.bitselect (v128.const f64x2 -1 -1) (v128.const f64x2 0 0) (i64x2.gt_s (local.get $hx) (v128.const i64x2 0x3FD62E42 0x3FD62E42)))
          (i64x2.gt_s (local.get $hx) (v128.const i64x2 0x3FF0A2B1 0x3FF0A2B1))))
        (local.set $hi (f64x2.sub (local.get $xv) (f64x2.mul (local.get $tk) (v128.const i64x2 0x3FE62E42FEE00000 0x3FE62E42FEE00000))))
        (local.set $lo (f64x2.mul (local.get $tk) (v128.const i64x2 0x3DEA39EF35793C76 0x3DEA39EF35793C76)))
        (local.set $xr (f64x2.sub (local.get $hi) (local.get $lo)))
        (local.set $t (f64x2.mul (local.get $xr) (local.get $xr)))
        (local.set $c (f64x2.sub (local.get $xr) (f64x2.mul (local.get $t)
          (f64x2.add (v128.const i64x2 0x3FC555555555553E 0x3FC555555555553E) (f64x2.mul (local.get $t)
          (f64x2.add (v128.const i64x2 0xBF66C16C16BEBD93 0xBF66C16C16BEBD93) (f64x2.mul (local.get $t)
          (f64x2.add (v128.const i64x2 0x3F11566AAF25DE2C 0x3F11566AAF25DE2C) (f64x2.mul (local.get $t)
          (f64x2.add (v128.const i64x2 0xBEBBBD41C5D26BF1 0xBEBBBD41C5D26BF1) (f64x2.mul (local.get $t)
            (v128.const i64x2 0x3E66376972BEA4D0 0x3E66376972BEA4D0))))))))))))
        (local.set $yy (f64x2.sub (v128.const f64x2 1 1)
          (f64x2.sub (f64x2.sub (local.get $lo)
                                (f64x2.div (f64x2.mul (local.get $xr) (local.get $c)) (f64x2.sub (v128.const f64x2 2 2) (local.get $c))))
                     (local.get $hi))))
        ;; y · 2ᵏ, built from k's bits
        (local.set $ki (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $tk))))
        (local.set $small (i64x2.lt_s (local.get $ki) (v128.const i64x2 -1021 -1021)))
        (local.set $ki (i64x2.add (local.get $ki) (v128.and (local.get $small) (v128.const i64x2 1000 1000))))
        (local.set $yy (f64x2.mul (local.get $yy) (i64x2.shl (i64x2.add (local.get $ki) (v128.const i64x2 1023 1023)) (i32.const 52))))
        (local.set $yy (f64x2.mul (local.get $yy)
          (v128.bitselect (v128.const i64x2 0x0170000000000000 0x0170000000000000) (v128.const f64x2 1 1) (local.get $small))))
        ;; |x| < 2⁻²⁸: 1 + x
        (local.set $yy (v128.bitselect (f64x2.add (v128.const f64x2 1 1) (local.get $xv)) (local.get $yy)
          (i64x2.lt_s (local.get $hx) (v128.const i64x2 0x3E300000 0x3E300000))))
        ;; below the underflow threshold (and −∞): 0
        (local.set $e (v128.bitselect (v128.const f64x2 0 0) (local.get $yy)
          (f64x2.lt (local.get $xv) (v128.const i64x2 0xC0874910D52D3051 0xC0874910D52D3051))))
      (local.set $inv (f64x2.div (v128.const f64x2 1 1) (f64x2.add (v128.const f64x2 1 1) (local.get $e))))
      (local.set $p (v128.bitselect (local.get $inv) (f64x2.mul (local.get $e) (local.get $inv))
        (f64x2.ge (local.get $zv) (v128.const f64x2 0 0))))
      (local.set $sv (v128.load (i32.add (local.get $s) (local.get $o))))
      (v128.store (i32.add (local.get $r) (local.get $o))
        (f64x2.mul (local.get $sv) (f64x2.sub (local.get $p) (v128.load (i32.add (local.get $y) (local.get $o))))))
      (v128.store (i32.add (local.get $h) (local.get $o))
        (f64x2.mul (f64x2.mul (local.get $sv) (local.get $p)) (f64x2.sub (v128.const f64x2 1 1) (local.get $p))))
      (v128.store (i32.add (local.get $ex) (local.get $o)) (local.get $e))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $l)))
    (if (local.get $tail)
      (then
        (f64.store (local.get $rl) (f64.load offset=48 (local.get $sc)))
        (f64.store (local.get $hl) (f64.load offset=64 (local.get $sc)))
        (f64.store (local.get $el) (f64.load offset=80 (local.get $sc))))))
)
