#!/usr/bin/perl
# Writes a tiny MaxMind DB for the telescope's MMDB tests, shaped like GeoLite2-Country or
# GeoLite2-ASN. Usage: telescope_mmdb.pl OUT country|asn 4|6 NETWORK=VALUE...
# country values: "BR" (country.iso_code) or "reg:cn" (registered_country.iso_code only);
# asn values: a number (autonomous_system_number).
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my ($out, $kind, $ipv, @nets) = @ARGV;
die "usage: $0 OUT country|asn 4|6 NET=VALUE...\n" unless $out && $kind && $ipv;
my %types = (
    country => 'map', registered_country => 'map', iso_code => 'utf8_string',
    autonomous_system_number => 'uint32', autonomous_system_organization => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => $ipv,
    record_size => 24,
    database_type => $kind eq 'asn' ? 'GeoLite2-ASN' : 'GeoLite2-Country',
    languages => ['en'],
    description => { en => 'botscope telescope test table' },
    map_key_type_callback => sub { $types{ $_[0] } },
);
for my $n (@nets) {
    my ($net, $val) = split /=/, $n, 2;
    my $data;
    if ($kind eq 'asn') {
        $data = { autonomous_system_number => $val + 0, autonomous_system_organization => 'Test' };
    } elsif ($val =~ /^reg:(.*)$/) {
        $data = { registered_country => { iso_code => $1 } };
    } else {
        $data = { country => { iso_code => $val } };
    }
    $tree->insert_network($net, $data);
}
open my $fh, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($fh);
close $fh or die "$out: $!\n";
