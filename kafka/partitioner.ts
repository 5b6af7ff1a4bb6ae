/**
 * Series -> partition. Every sample of a series goes to one partition, in order (what the
 * ingester's exactly-once ranges rely on): the partition is the series fingerprint (xxHash64 of the sorted labels, already
 * computed by validation) modulo the partition count. The low 32 bits suffice and avoid a
 * BigInt division per series; xxHash's low bits are as uniform as its high ones.
 */
export function partitionOf(seriesId: bigint, partitions: number): number {
  return Number(BigInt.asUintN(32, seriesId)) % partitions
}
