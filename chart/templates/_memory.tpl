{{/*
The memory plan: the template twin of app/memory/plan.ts and app/memory/units.ts
(authoritative spec: memory-model.md). Both compute in IEEE-754 doubles and
floor to whole MiB, so the values injected here equal what the process derives
at boot; test/chart/parity.test.ts proves it against `node dist/cli.js memory
plan --json` for hundreds of inputs. Error messages name the same keys as the
app's and fail `helm template` / `helm install` before anything is applied.

Sprig reminder: a pipeline passes its value as the LAST argument, so write
`divf $a $b` (a / b), never `$a | divf $b`. Sizes are floats here; print them
through `int64`.
*/}}

{{/* Flink-style human units, three decimals truncated: 134217728 -> "128.000mb". */}}
{{- define "jobmanager.formatBytes" -}}
{{- $b := float64 . -}}
{{- $units := list (list "tb" 1099511627776.0) (list "gb" 1073741824.0) (list "mb" 1048576.0) (list "kb" 1024.0) -}}
{{- $out := "" -}}
{{- range $units -}}
{{- if and (eq $out "") (ge $b (index . 1)) -}}
{{- $th := floor (addf (mulf (divf $b (index . 1)) 1000.0) 0.000000001) -}}
{{- $out = printf "%.3f%s" (divf $th 1000.0) (index . 0) -}}
{{- end -}}
{{- end -}}
{{- if eq $out "" }}{{ $out = printf "%db" (int64 $b) }}{{ end -}}
{{- $out -}}
{{- end }}

{{/* "134217728 bytes, 128.000mb" */}}
{{- define "jobmanager.bytesAndHuman" -}}
{{- printf "%d bytes, %s" (int64 (float64 .)) (include "jobmanager.formatBytes" .) -}}
{{- end }}

{{- define "jobmanager.sizeSyntax" -}}
bytes, or a number with a Flink unit (b, k/kb, m/mb, g/gb, t/tb, case-insensitive; 1m = 1 MiB) or a Kubernetes quantity (Ki, Mi, Gi, Ti; M = 10^6, G = 10^9, T = 10^12; 1e9)
{{- end }}

{{/*
Parse a size like the app: Flink syntax first (1m = 1 MiB, 64k = 64 KiB,
case-insensitive), except the upper-case Kubernetes decimal suffixes M G T P E
(1G = 10^9); then Kubernetes binary suffixes (Ki Mi Gi Ti Pi Ei) and exponent
notation (1e9). Fractions floor to whole bytes.
Args: dict "key" <app key for messages> "value" <raw> ["origin" <where from>]
Returns the bytes as a decimal string.
*/}}
{{- define "jobmanager.parseSize" -}}
{{- $v := .value -}}
{{- if or (kindIs "float64" $v) (kindIs "int64" $v) (kindIs "int" $v) -}}
{{- $v = printf "%d" (int64 $v) -}}
{{- end -}}
{{- $text := toString $v -}}
{{- $raw := trim $text -}}
{{- $origin := "" -}}
{{- if .origin }}{{ $origin = printf " (%s)" .origin }}{{ end -}}
{{- $prefix := printf "%s %s%s" .key (toJson $text) $origin -}}
{{- $syntax := include "jobmanager.sizeSyntax" . -}}
{{- if eq $raw "" -}}
{{- fail (printf "%s is empty; accepted: %s" $prefix $syntax) -}}
{{- end -}}
{{- if hasPrefix "-" $raw -}}
{{- fail (printf "%s is negative; accepted: %s" $prefix $syntax) -}}
{{- end -}}
{{- $numberUnit := "^([0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)\\s*([A-Za-z]*)$" -}}
{{- $exponent := "^([0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)[eE](\\+?[0-9]+)$" -}}
{{- $value := 0.0 -}}
{{- if regexMatch $numberUnit $raw -}}
{{- $amount := float64 (regexReplaceAll $numberUnit $raw "${1}") -}}
{{- $unit := regexReplaceAll $numberUnit $raw "${2}" -}}
{{- $decimal := dict "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 "P" 1000000000000000.0 "E" 1000000000000000000.0 -}}
{{- $flink := dict "" 1.0 "b" 1.0 "bytes" 1.0 "k" 1024.0 "kb" 1024.0 "kibibytes" 1024.0 "m" 1048576.0 "mb" 1048576.0 "mebibytes" 1048576.0 "g" 1073741824.0 "gb" 1073741824.0 "gibibytes" 1073741824.0 "t" 1099511627776.0 "tb" 1099511627776.0 "tebibytes" 1099511627776.0 -}}
{{- $binary := dict "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 -}}
{{- $mult := 0.0 -}}
{{- if hasKey $decimal $unit -}}
{{- $mult = get $decimal $unit -}}
{{- else if hasKey $flink (lower $unit) -}}
{{- $mult = get $flink (lower $unit) -}}
{{- else if hasKey $binary $unit -}}
{{- $mult = get $binary $unit -}}
{{- else -}}
{{- fail (printf "%s has an unknown unit %s; accepted: %s" $prefix (toJson $unit) $syntax) -}}
{{- end -}}
{{- $value = mulf $amount $mult -}}
{{- else if regexMatch $exponent $raw -}}
{{- $value = float64 (regexReplaceAll $exponent $raw "${1}") -}}
{{- $exp := int (trimPrefix "+" (regexReplaceAll $exponent $raw "${2}")) -}}
{{- if gt $exp 30 }}{{ $exp = 30 }}{{ end -}}
{{- range until $exp }}{{ $value = mulf $value 10.0 }}{{ end -}}
{{- else -}}
{{- fail (printf "%s is not a memory size; accepted: %s" $prefix $syntax) -}}
{{- end -}}
{{- if gt $value 9007199254740991.0 -}}
{{- fail (printf "%s is too large (more than 9007199254740991 bytes); accepted: %s" $prefix $syntax) -}}
{{- end -}}
{{- printf "%d" (int64 (floor $value)) -}}
{{- end }}

{{/*
A Kubernetes quantity as the kubelet sees it (resources.*.memory): binary and
decimal suffixes, fractions round UP to whole bytes (what the Downward API's
limits.memory reports). Lower-case k is 1000 here, as in Kubernetes.
Args: dict "path" <values path> "value" <raw>. Returns bytes as a string.
*/}}
{{- define "jobmanager.parseQuantity" -}}
{{- $v := .value -}}
{{- if or (kindIs "float64" $v) (kindIs "int64" $v) (kindIs "int" $v) -}}
{{- $v = printf "%d" (int64 $v) -}}
{{- end -}}
{{- $raw := trim (toString $v) -}}
{{- $re := "^([0-9]+(?:\\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$" -}}
{{- if not (regexMatch $re $raw) -}}
{{- fail (printf "%s %s is not a Kubernetes memory quantity; accepted: bytes or a number with Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P or E (e.g. 1Gi, 512Mi, 1G)" .path (toJson $raw)) -}}
{{- end -}}
{{- $amount := float64 (regexReplaceAll $re $raw "${1}") -}}
{{- $suffixes := dict "" 1.0 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 "P" 1000000000000000.0 "E" 1000000000000000000.0 -}}
{{- printf "%d" (int64 (ceil (mulf $amount (get $suffixes (regexReplaceAll $re $raw "${2}"))))) -}}
{{- end }}

{{/*
A fraction in [0, 1). Args: dict "key" "value". Returns the number as text.
*/}}
{{- define "jobmanager.parseFraction" -}}
{{- $text := toString .value -}}
{{- $raw := trim $text -}}
{{- $ok := regexMatch "^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?$" $raw -}}
{{- if $ok }}{{ $f := float64 $raw }}{{ if or (lt $f 0.0) (ge $f 1.0) }}{{ $ok = false }}{{ end }}{{ end -}}
{{- if not $ok -}}
{{- fail (printf "%s %s (%s) is invalid; accepted: a fraction in [0, 1), e.g. 0.1" .key (toJson $text) .origin) -}}
{{- end -}}
{{- $raw -}}
{{- end }}

{{/*
jobmanager.memoryPlan: the plan for .Values, as JSON (sizes in bytes):
{process, overhead, offHeap, network, networkSegmentSize, networkSegments,
heap, semiSpace, youngGeneration, oldGeneration, cache, flags, warnings,
containerLimit, overheadFraction, overheadMin, overheadMax, cacheFraction}.
Use: `include "jobmanager.memoryPlan" . | fromJson`.
*/}}
{{- define "jobmanager.memoryPlan" -}}
{{- $mem := .Values.memory -}}
{{- $ov := default dict $mem.overhead -}}
{{- $K := dict "process" "jobmanager.process.memory.size" "heap" "jobmanager.heap.memory.size" "offHeap" "jobmanager.offheap.memory.size" "network" "jobmanager.network.memory.size" "segment" "jobmanager.network.memory.segment-size" "fraction" "jobmanager.overhead.memory.fraction" "min" "jobmanager.overhead.memory.min" "max" "jobmanager.overhead.memory.max" "semi" "jobmanager.heap.semi-space.size" "cache" "jobmanager.cache.memory.fraction" "limit" "jobmanager.container.memory.limit" -}}
{{- $empty := list "" nil -}}

{{- /* inputs */ -}}
{{- $fText := include "jobmanager.parseFraction" (dict "key" $K.fraction "value" (ternary 0.1 $ov.fraction (has $ov.fraction $empty)) "origin" "memory.overhead.fraction") -}}
{{- $f := float64 $fText -}}
{{- $oMin := float64 (include "jobmanager.parseSize" (dict "key" $K.min "value" (ternary "80m" $ov.min (has $ov.min $empty)) "origin" "memory.overhead.min")) -}}
{{- $oMax := float64 (include "jobmanager.parseSize" (dict "key" $K.max "value" (ternary "1g" $ov.max (has $ov.max $empty)) "origin" "memory.overhead.max")) -}}
{{- $seg := float64 (include "jobmanager.parseSize" (dict "key" $K.segment "value" (ternary "32k" $mem.networkSegmentSize (has $mem.networkSegmentSize $empty)) "origin" "memory.networkSegmentSize")) -}}
{{- $cfText := include "jobmanager.parseFraction" (dict "key" $K.cache "value" (ternary 0.2 $mem.cacheFraction (has $mem.cacheFraction $empty)) "origin" "memory.cacheFraction") -}}
{{- $cf := float64 $cfText -}}
{{- $res := default dict .Values.resources -}}
{{- $limits := default dict $res.limits -}}
{{- $requests := default dict $res.requests -}}
{{- $limit := -1.0 -}}
{{- if not (has $limits.memory $empty) -}}
{{- $limit = float64 (include "jobmanager.parseQuantity" (dict "path" "resources.limits.memory" "value" $limits.memory)) -}}
{{- end -}}
{{- if and (ge $limit 0.0) (not (has $requests.memory $empty)) -}}
{{- $request := float64 (include "jobmanager.parseQuantity" (dict "path" "resources.requests.memory" "value" $requests.memory)) -}}
{{- if gt $request $limit -}}
{{- fail (printf "resources.requests.memory (%s) is larger than resources.limits.memory (%s); Kubernetes refuses such a pod" (toString $requests.memory) (toString $limits.memory)) -}}
{{- end -}}
{{- end -}}
{{- $P := -1.0 -}}
{{- $Pset := false -}}
{{- if not (has $mem.process $empty) -}}
{{- $P = float64 (include "jobmanager.parseSize" (dict "key" $K.process "value" $mem.process "origin" "memory.process")) -}}
{{- $Pset = true -}}
{{- else if ge $limit 0.0 -}}
{{- $P = $limit -}}
{{- $Pset = true -}}
{{- else if not (has $requests.memory $empty) -}}
{{- $P = float64 (include "jobmanager.parseQuantity" (dict "path" "resources.requests.memory" "value" $requests.memory)) -}}
{{- $Pset = true -}}
{{- end -}}

{{- $H := -1.0 -}}
{{- if not (has $mem.heap $empty) }}{{ $H = float64 (include "jobmanager.parseSize" (dict "key" $K.heap "value" $mem.heap "origin" "memory.heap")) }}{{ end -}}
{{- $OH := -1.0 -}}
{{- if not (has $mem.offHeap $empty) }}{{ $OH = float64 (include "jobmanager.parseSize" (dict "key" $K.offHeap "value" $mem.offHeap "origin" "memory.offHeap")) }}{{ end -}}
{{- $N := -1.0 -}}
{{- if not (has $mem.network $empty) }}{{ $N = float64 (include "jobmanager.parseSize" (dict "key" $K.network "value" $mem.network "origin" "memory.network")) }}{{ end -}}
{{- $S := -1.0 -}}
{{- if not (has $mem.semiSpace $empty) }}{{ $S = float64 (include "jobmanager.parseSize" (dict "key" $K.semi "value" $mem.semiSpace "origin" "memory.semiSpace")) }}{{ end -}}

{{- if and (not $Pset) (lt $H 0.0) -}}
{{- fail (printf "no memory size: set resources.limits.memory (the container limit, recommended) or memory.process (%s) or memory.heap (%s)" $K.process $K.heap) -}}
{{- end -}}

{{- /* derivation (memory-model.md "Derivation") */ -}}
{{- /* What the process will see as its limit: the cgroup's, in whole 4 KiB pages. */ -}}
{{- $enforced := ternary (mulf (floor (divf $limit 4096.0)) 4096.0) -1.0 (ge $limit 0.0) -}}
{{- $r := include "jobmanager.derivePlan" (dict "K" $K "P" $P "H" $H "OH" $OH "N" $N "S" $S "f" $f "oMin" $oMin "oMax" $oMax "seg" $seg "cf" $cf "limit" $enforced "limitOrigin" (printf "%s set by resources.limits.memory" $K.limit)) | fromJson -}}
{{- $_ := set $r "containerLimit" (ternary (int64 $limit) nil (ge $limit 0.0)) -}}
{{- $_ := set $r "overheadFraction" $fText -}}
{{- $_ := set $r "overheadMin" (int64 $oMin) -}}
{{- $_ := set $r "overheadMax" (int64 $oMax) -}}
{{- $_ := set $r "cacheFraction" $cfText -}}
{{- toJson $r -}}
{{- end }}

{{/* `key (134217728 bytes, 128.000mb)` - plan.ts named()/part(). Args: list label bytes */}}
{{- define "jobmanager.named" -}}
{{- printf "%s (%s)" (index . 0) (include "jobmanager.bytesAndHuman" (index . 1)) -}}
{{- end }}

{{/* plan.ts heapOfProcess: {overhead, offHeap, heap} for a process size. Args: dict P f oMin oMax OH(-1 = derive) */}}
{{- define "jobmanager.heapOfProcess" -}}
{{- $MiB := 1048576.0 -}}
{{- $O := minf (maxf (mulf (floor (divf (mulf .P .f) $MiB)) $MiB) .oMin) .oMax -}}
{{- $T := subf .P $O -}}
{{- $OH := .OH -}}
{{- if lt $OH 0.0 }}{{ $OH = minf (maxf (mulf (floor (divf (mulf 0.1 $T) $MiB)) $MiB) (mulf 32.0 $MiB)) (mulf 512.0 $MiB) }}{{ end -}}
{{- dict "overhead" $O "offHeap" $OH "heap" (subf $T $OH) | toJson -}}
{{- end }}

{{/*
plan.ts smallestProcessForHeap: the smallest whole-MiB process size whose
derived heap reaches .target (binary search, as the app). Args: dict target f oMin oMax OH
*/}}
{{- define "jobmanager.smallestProcessForHeap" -}}
{{- $MiB := 1048576.0 -}}
{{- $lo := 1.0 -}}
{{- $hi := floor (divf 9007199254740991.0 $MiB) -}}
{{- $args := . -}}
{{- range until 64 -}}
{{- if lt $lo $hi -}}
{{- $mid := floor (divf (addf $lo $hi) 2.0) -}}
{{- $h := include "jobmanager.heapOfProcess" (dict "P" (mulf $mid $MiB) "f" $args.f "oMin" $args.oMin "oMax" $args.oMax "OH" $args.OH) | fromJson -}}
{{- if ge (float64 $h.heap) $args.target }}{{ $hi = $mid }}{{ else }}{{ $lo = addf $mid 1.0 }}{{ end -}}
{{- end -}}
{{- end -}}
{{- printf "%d" (int64 (mulf $lo $MiB)) -}}
{{- end }}

{{/*
The pure derivation, line by line plan.ts deriveMemoryPlan (same checks in
the same order, same messages). Args: dict K P H OH N S f oMin oMax seg cf
limit limitOrigin (sizes as floats, -1 = not configured / no limit).
Returns the plan as JSON.
*/}}
{{- define "jobmanager.derivePlan" -}}
{{- $K := .K -}}
{{- $MiB := 1048576.0 -}}
{{- $minHeap := mulf 48.0 $MiB -}}
{{- $recommendedHeap := mulf 128.0 $MiB -}}
{{- $minOld := mulf 32.0 $MiB -}}
{{- /* plan.ts inWholeMiB: process, heap, off-heap and the overhead bounds in
       whole MiB (limits.memory 1G = 10^9 bytes -> 953 MiB, which also fits
       the cgroup's page-rounded 999997440). Unset (-1) stays negative. */ -}}
{{- $P := mulf (floor (divf .P $MiB)) $MiB }}{{ $H := mulf (floor (divf .H $MiB)) $MiB }}{{ $OHin := mulf (floor (divf .OH $MiB)) $MiB }}{{ $OH := $OHin }}{{ $N := .N }}{{ $S := .S -}}
{{- $f := .f }}{{ $oMin := mulf (floor (divf .oMin $MiB)) $MiB }}{{ $oMax := mulf (floor (divf .oMax $MiB)) $MiB }}{{ $seg := .seg -}}
{{- $OHset := ge .OH 0.0 -}}
{{- $Pset := ge .P 0.0 -}}
{{- $O := 0.0 -}}

{{- /* validateSettings (fractions were range-checked when parsed) */ -}}
{{- if gt $oMin $oMax -}}
{{- fail (printf "%s is greater than %s; lower %s or raise %s" (include "jobmanager.named" (list $K.min $oMin)) (include "jobmanager.named" (list $K.max $oMax)) $K.min $K.max) -}}
{{- end -}}
{{- $segPow2 := false -}}
{{- $pow := 1.0 -}}
{{- range until 54 }}{{ if eq $seg $pow }}{{ $segPow2 = true }}{{ end }}{{ $pow = mulf $pow 2.0 }}{{ end -}}
{{- if or (not $segPow2) (lt $seg 4096.0) -}}
{{- fail (printf "%s must be a power of two of at least 4.000kb; use e.g. 32k" (include "jobmanager.named" (list $K.segment $seg))) -}}
{{- end -}}
{{- if ge $S 0.0 -}}
{{- if not (has $S (list 1048576.0 2097152.0 4194304.0 8388608.0 16777216.0 33554432.0 67108864.0)) -}}
{{- fail (printf "%s must be a power of two in whole MiB from 1m to 64m (1m, 2m, 4m, ... 64m); set one of those or leave it unset to derive it" (include "jobmanager.named" (list $K.semi $S))) -}}
{{- end -}}
{{- end -}}

{{- if lt $H 0.0 -}}
  {{- if not $Pset -}}
    {{- fail (printf "neither %s nor %s is known; set %s (e.g. 1g)" $K.process $K.heap $K.process) -}}
  {{- end -}}
  {{- /* Only P known: the heap takes the remainder, so the parts always sum to P. */ -}}
  {{- $h := include "jobmanager.heapOfProcess" (dict "P" $P "f" $f "oMin" $oMin "oMax" $oMax "OH" $OH) | fromJson -}}
  {{- $O = float64 $h.overhead }}{{ $OH = float64 $h.offHeap }}{{ $H = float64 $h.heap -}}
  {{- if lt $H $minHeap -}}
    {{- $least := include "jobmanager.smallestProcessForHeap" (dict "target" $minHeap "f" $f "oMin" $oMin "oMax" $oMax "OH" $OHin) -}}
    {{- fail (printf "%s is less than the sum of %s, %s and the %s; raise %s to at least %s, or lower %s%s" (include "jobmanager.named" (list $K.process $P)) (include "jobmanager.named" (list "runtime overhead" $O)) (include "jobmanager.named" (list "off-heap" $OH)) (include "jobmanager.named" (list "minimum heap" $minHeap)) $K.process (include "jobmanager.bytesAndHuman" $least) (include "jobmanager.named" (list $K.min $oMin)) (ternary (printf " or %s" $K.offHeap) "" $OHset)) -}}
  {{- end -}}
{{- else -}}
  {{- if lt $H $minHeap -}}
    {{- fail (printf "%s is less than the minimum heap (48.000mb); raise %s to at least 50331648 bytes (48.000mb) or leave it unset to derive it from %s" (include "jobmanager.named" (list $K.heap $H)) $K.heap $K.process) -}}
  {{- end -}}
  {{- if not $OHset -}}
    {{- $OH = minf (maxf (mulf (floor (divf (divf $H 9.0) $MiB)) $MiB) (mulf 32.0 $MiB)) (mulf 512.0 $MiB) -}}
  {{- end -}}
  {{- $T := addf $H $OH -}}
  {{- if not $Pset -}}
    {{- /* H configured, P not: overhead is the fraction f of P = T / (1 - f). */ -}}
    {{- $O = minf (maxf (mulf (floor (divf (divf (mulf $T $f) (subf 1.0 $f)) $MiB)) $MiB) $oMin) $oMax -}}
    {{- $P = addf $T $O -}}
  {{- else -}}
    {{- if gt $T $P -}}
      {{- fail (printf "%s plus %s%s exceed %s; raise %s or lower %s%s, or set only one of %s and %s" (include "jobmanager.named" (list $K.heap $H)) (ternary "" "the default " $OHset) (include "jobmanager.named" (list $K.offHeap $OH)) (include "jobmanager.named" (list $K.process $P)) $K.process $K.heap (ternary (printf " or %s" $K.offHeap) "" $OHset) $K.process $K.heap) -}}
    {{- end -}}
    {{- $O = subf $P $T -}}
    {{- if or (lt $O $oMin) (gt $O $oMax) -}}
      {{- $tooSmall := lt $O $oMin -}}
      {{- $bound := ternary (include "jobmanager.named" (list $K.min $oMin)) (include "jobmanager.named" (list $K.max $oMax)) $tooSmall -}}
      {{- $fix := ternary (printf "raise %s to at least %s, lower %s, or lower %s" $K.process (include "jobmanager.bytesAndHuman" (addf $T $oMin)) $K.heap $K.min) (printf "lower %s to at most %s, raise %s, or raise %s" $K.process (include "jobmanager.bytesAndHuman" (addf $T $oMax)) $K.heap $K.max) $tooSmall -}}
      {{- fail (printf "the runtime overhead left by %s minus %s and %s is %s, %s %s; %s" (include "jobmanager.named" (list $K.process $P)) (include "jobmanager.named" (list $K.heap $H)) (include "jobmanager.named" (list $K.offHeap $OH)) (include "jobmanager.bytesAndHuman" $O) (ternary "below" "above" $tooSmall) $bound $fix) -}}
    {{- end -}}
  {{- end -}}
{{- end -}}

{{- if and (ge .limit 0.0) (gt $P .limit) -}}
  {{- if $Pset -}}
    {{- fail (printf "%s exceeds the %s; lower %s to at most %d bytes or raise the container's memory limit" (include "jobmanager.named" (list $K.process $P)) (include "jobmanager.named" (list .limitOrigin .limit)) $K.process (int64 .limit)) -}}
  {{- else -}}
    {{- fail (printf "the process size derived from %s is %s, which exceeds the %s; lower %s or raise the container's memory limit" (include "jobmanager.named" (list $K.heap $H)) (include "jobmanager.bytesAndHuman" $P) (include "jobmanager.named" (list .limitOrigin .limit)) $K.heap) -}}
  {{- end -}}
{{- end -}}

{{- if lt $N 0.0 -}}
  {{- $N = mulf (floor (divf (divf $OH 2.0) $MiB)) $MiB -}}
{{- end -}}
{{- if gt $N $OH -}}
  {{- fail (printf "%s is larger than %s; lower %s or raise %s" (include "jobmanager.named" (list $K.network $N)) (include "jobmanager.named" (list $K.offHeap $OH)) $K.network $K.offHeap) -}}
{{- end -}}
{{- if gt $seg $N -}}
  {{- fail (printf "%s is larger than %s; lower %s or raise %s" (include "jobmanager.named" (list $K.segment $seg)) (include "jobmanager.named" (list $K.network $N)) $K.segment $K.network) -}}
{{- end -}}

{{- if lt $S 0.0 -}}
  {{- /* The largest power of two (in MiB) <= H / 64, clamped to [1m, 64m]. */ -}}
  {{- $limitMiB := floor (divf $H (mulf 64.0 $MiB)) -}}
  {{- $s := 1.0 -}}
  {{- range until 6 }}{{ if le (mulf $s 2.0) $limitMiB }}{{ $s = mulf $s 2.0 }}{{ end }}{{ end -}}
  {{- $S = mulf $s $MiB -}}
{{- end -}}
{{- $Y := mulf 3.0 $S -}}
{{- $old := subf $H $Y -}}
{{- if lt $old $minOld -}}
  {{- fail (printf "the old generation, %s minus 3 x %s, is %s, below the minimum 32.000mb; lower %s or raise %s (or %s)" (include "jobmanager.named" (list $K.heap $H)) (include "jobmanager.named" (list $K.semi $S)) (include "jobmanager.bytesAndHuman" $old) $K.semi $K.heap $K.process) -}}
{{- end -}}

{{- $warnings := list -}}
{{- if lt $H $recommendedHeap -}}
  {{- $least := include "jobmanager.smallestProcessForHeap" (dict "target" $recommendedHeap "f" $f "oMin" $oMin "oMax" $oMax "OH" $OHin) -}}
  {{- $warnings = append $warnings (printf "the heap (%s) is below the recommended 128.000mb; a %s of at least %s (with %s derived) avoids this" (include "jobmanager.bytesAndHuman" $H) $K.process (include "jobmanager.bytesAndHuman" $least) $K.heap) -}}
{{- end -}}
{{- $cache := mulf (floor (divf (mulf .cf $old) $MiB)) $MiB -}}
{{- $flags := list (printf "--max-old-space-size=%d" (int64 (floor (divf $old $MiB)))) (printf "--max-semi-space-size=%d" (int64 (divf $S $MiB))) -}}
{{- dict "process" (int64 $P) "overhead" (int64 $O) "offHeap" (int64 $OH) "network" (int64 $N) "networkSegmentSize" (int64 $seg) "networkSegments" (int64 (floor (divf $N $seg))) "heap" (int64 $H) "semiSpace" (int64 $S) "youngGeneration" (int64 $Y) "oldGeneration" (int64 $old) "cache" (int64 $cache) "flags" $flags "warnings" $warnings | toJson -}}
{{- end }}

{{/*
The env vars carrying the plan into the pod (sizes in bytes), NODE_OPTIONS with
the plan's V8 flags, and the container limit from the Downward API.
Args: dict "plan" <memoryPlan> "root" <.>
*/}}
{{- define "jobmanager.memoryEnv" -}}
{{- $p := .plan -}}
- name: JOBMANAGER_PROCESS_MEMORY_SIZE
  value: {{ int64 $p.process | quote }}
- name: JOBMANAGER_HEAP_MEMORY_SIZE
  value: {{ int64 $p.heap | quote }}
- name: JOBMANAGER_OFFHEAP_MEMORY_SIZE
  value: {{ int64 $p.offHeap | quote }}
- name: JOBMANAGER_NETWORK_MEMORY_SIZE
  value: {{ int64 $p.network | quote }}
- name: JOBMANAGER_NETWORK_MEMORY_SEGMENT_SIZE
  value: {{ int64 $p.networkSegmentSize | quote }}
- name: JOBMANAGER_HEAP_SEMI_SPACE_SIZE
  value: {{ int64 $p.semiSpace | quote }}
- name: JOBMANAGER_OVERHEAD_MEMORY_FRACTION
  value: {{ $p.overheadFraction | quote }}
- name: JOBMANAGER_OVERHEAD_MEMORY_MIN
  value: {{ int64 $p.overheadMin | quote }}
- name: JOBMANAGER_OVERHEAD_MEMORY_MAX
  value: {{ int64 $p.overheadMax | quote }}
- name: JOBMANAGER_CACHE_MEMORY_FRACTION
  value: {{ $p.cacheFraction | quote }}
- name: NODE_OPTIONS
  value: {{ join " " $p.flags | quote }}
{{- if not (kindIs "invalid" $p.containerLimit) }}
- name: JOBMANAGER_CONTAINER_MEMORY_LIMIT
  valueFrom:
    resourceFieldRef:
      containerName: jobmanager
      resource: limits.memory
{{- end }}
{{- end }}

{{/* Hash of everything that shapes the process: the plan and appsettings.json. */}}
{{- define "jobmanager.configChecksum" -}}
{{- printf "%s\n%s" (include "jobmanager.memoryPlan" .) (include "jobmanager.appSettings" .) | sha256sum -}}
{{- end }}
