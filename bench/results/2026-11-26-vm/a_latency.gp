set terminal pngcairo size 900,560 font ',10'
set output 'a_latency.png'
set grid
set key outside right top
set title 'A: edgewhisk per-request p50 latency'
set xlabel 'client concurrency'
set ylabel 'p50 ms'
set logscale y
plot 'a_rps.dat' index 0 using 1:3 with linespoints title 'N=1', 'a_rps.dat' index 1 using 1:3 with linespoints title 'N=2', 'a_rps.dat' index 2 using 1:3 with linespoints title 'N=3', 'a_rps.dat' index 3 using 1:3 with linespoints title 'N=4', 'a_rps.dat' index 4 using 1:3 with linespoints title 'N=5', 'a_rps.dat' index 5 using 1:3 with linespoints title 'N=6', 'a_rps.dat' index 6 using 1:3 with linespoints title 'N=7', 'a_rps.dat' index 7 using 1:3 with linespoints title 'N=8', 'a_rps.dat' index 8 using 1:3 with linespoints title 'N=9', 'a_rps.dat' index 9 using 1:3 with linespoints title 'N=10', 'a_rps.dat' index 10 using 1:3 with linespoints title 'N=11'
