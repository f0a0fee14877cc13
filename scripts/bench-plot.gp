# SPDX-License-Identifier: MIT
#
# Plots of make bench, run by scripts/bench.sh in build/bench/ on the .dat
# files it writes there: one row a label, then median, low and high of each
# backing (3 columns a backing, "?" when a backing has no sample). Bars and
# points are medians; error bars are the IQR (or, for ratios paired within a
# repetition, the IQR of those ratios). Each plot is written as PNG and SVG.

load "plot-vars.gp"
set datafile missing "?"
set grid ytics lc rgb "#dddddd"
set key top left
set style fill solid 0.75 border -1
set style data histograms
set style histogram errorbars gap 2 lw 1
set boxwidth 0.9
set xtics nomirror
set ytics nomirror
set border 3


do for [t in "png svg"] {
	if (t eq "png") {
		set terminal png size 1100,560 font ",10"
	} else {
		set terminal svg size 1100,560 dynamic font "sans,11"
	}

	if (HAS_p1) {
		set output "p1.".t
		set title "P1: unrelated mmap+munmap with N live 64 KiB objects, relative to a process with none (".KERNEL.", TCG)"
		set xlabel "N live userptr objects"
		set ylabel "time per mmap+munmap / same in a process with no object"
		set yrange [0:*]
		set arrow 1 from graph 0, first 1.5 to graph 1, first 1.5 nohead dt 2 lc rgb "red"
		set label 1 "goal 1.5x (pinned, unpinned)" at graph 0.01, first 1.55 tc rgb "red"
		plot for [i=0:NB-1] 'p1.dat' using 0:(column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) \
			with yerrorlines lw 2 pt 7 title columnhead(2+3*i)
		unset arrow 1
		unset label 1
		set xlabel ""
	}

	if (HAS_p2) {
		set output "p2.".t
		set title "P2: create + first use + close of a 64 KiB object (median, IQR)"
		set ylabel "microseconds per cycle (log)"
		set logscale y
		set yrange [*:*]
		plot for [i=0:NB-1] "p2.dat" using (column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) \
			title columnhead(2+3*i)
		unset logscale y
	}

	if (HAS_p2parts) {
		set output "p2-parts.".t
		set title "P2: where a warm cycle's time goes (median, IQR)"
		set ylabel "microseconds"
		set yrange [0:*]
		plot for [i=0:NB-1] "p2-parts.dat" using (column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) \
			title columnhead(2+3*i)
	}

	if (HAS_p3) {
		set output "p3.".t
		set title "P3: two submitting threads, with an mprotect storm on unrelated memory or on other objects"
		set ylabel "jobs per second (both threads)"
		set yrange [0:*]
		plot for [i=0:NB-1] "p3.dat" using (column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) \
			title columnhead(2+3*i)
	}

	if (HAS_p4) {
		set output "p4.".t
		set title "P4: 64 MiB copy relative to a userspace memcpy of the same buffer"
		set ylabel "time / memcpy time"
		set yrange [0:*]
		set arrow 1 from graph 0, first 1.2 to graph 1, first 1.2 nohead dt 2 lc rgb "red"
		set arrow 2 from graph 0, first 2 to graph 1, first 2 nohead dt 3 lc rgb "red"
		plot for [i=0:NB-1] "p4.dat" using (column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) \
			title columnhead(2+3*i)
		unset arrow 1
		unset arrow 2
	}

	if (HAS_p5) {
		set output "p5.".t
		set title "P5: revalidation after a one-page invalidation of a 64 MiB object"
		set ylabel "percent of a full acquisition"
		set yrange [0:*]
		set arrow 1 from graph 0, first 5 to graph 1, first 5 nohead dt 2 lc rgb "red"
		plot for [i=0:NB-1] "p5.dat" using (column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) \
			title columnhead(2+3*i)
		unset arrow 1
	}

	if (HAS_p6) {
		set output "p6.".t
		set title "P6: 512 objects packed 32 to a 2 MiB block (create, first use, close); mprotect beside 8 objects"
		set ylabel "microseconds per object / per mprotect (log)"
		set logscale y
		set yrange [*:*]
		plot for [i=0:NB-1] "p6.dat" using (column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) \
			title columnhead(2+3*i)
		unset logscale y
	}

	if (HAS_mem) {
		set output "mem.".t
		set title "Memory: kernel bytes per object (2048 x 64 KiB) and per page x100 (64 MiB object)"
		set ylabel "bytes"
		set yrange [0:*]
		set arrow 1 from graph 0, first 1024 to graph 1, first 1024 nohead dt 2 lc rgb "red"
		set arrow 2 from graph 0, first 800 to graph 1, first 800 nohead dt 3 lc rgb "red"
		plot for [i=0:NB-1] "mem.dat" using (column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) \
			title columnhead(2+3*i)
		unset arrow 1
		unset arrow 2
	}
	unset title
}
