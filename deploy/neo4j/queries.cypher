// kgweave: ready Cypher queries for Neo4j Browser (or cypher-shell, or any driver).
//
// Each query starts with a "// name: <key>" line and, right below, the parameters it takes as a
// Browser command you can paste as is:
//     :params {name: 'graph neural network', limit: 25}
// (:params replaces every parameter; ":param name => 'GNN'" changes one). Integers are wrapped in
// toInteger() because ":params" sends JavaScript numbers, which arrive as floats.
// The graph's layout (graph_store/cypher.py):
//   (:Document {source, title})-[:HAS_CHUNK]->(:Chunk {text, start, end})
//   (:Entity:<Label> {id, name, norm_name, label, support, first_run, last_run, <metrics>})
//       -[:MENTIONED_IN {start, end, text}]->(:Chunk)
//   (:Entity)-[:<TYPE> {id, support, chunk_ids, evidence, first_run, last_run}]->(:Entity)
//   (:Run {id, kind, status, started_at, finished_at, extractor, model, summary})
// Node metrics (degree, pagerank, betweenness, community, hub_score...) are entity properties
// written by the analysis step; they are floats, and absent until an analysis has run.
// A concept is found by name, case-insensitively: its name as shown, or its norm_name (the
// store's normalised key: punctuation as spaces, final plural "s" dropped), with or without a
// final "s" ("Graph Neural Networks", "graph neural network" and "GNN" all work).
// tests/integration/test_neo4j_queries.py runs every query here against a real Neo4j.


// name: top-hubs
// The most central entities: by hub_score where the analysis wrote one, else by degree (relations
// to other entities, counted now). score_source says which; entities with a hub_score come first.
// :params {limit: 25}
MATCH (e:Entity)
WITH e, COUNT { (e)--(:Entity) } AS degree
RETURN e.name AS name, e.label AS label, e.hub_score AS hub_score, degree,
       e.pagerank AS pagerank, toInteger(e.community) AS community, e.support AS support,
       CASE WHEN e.hub_score IS NULL THEN 'degree' ELSE 'hub_score' END AS score_source, e.id AS id
ORDER BY e.hub_score IS NULL, e.hub_score DESC, degree DESC, name
LIMIT toInteger($limit);


// name: bridge-entities
// Entities whose neighbours lie in at least $min_communities communities (needs the community
// metric): the concepts that connect topics. betweenness, when written, ranks ties.
// :params {min_communities: 2, limit: 25}
MATCH (e:Entity)-[r]-(n:Entity)
WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN'] AND n.community IS NOT NULL
WITH e, collect(DISTINCT toInteger(n.community)) AS communities, count(DISTINCT n) AS neighbours
WHERE size(communities) >= toInteger($min_communities)
RETURN e.name AS name, e.label AS label, toInteger(e.community) AS community,
       size(communities) AS community_count, communities, neighbours, e.betweenness AS betweenness
ORDER BY community_count DESC, betweenness DESC, neighbours DESC, name
LIMIT toInteger($limit);


// name: community-bridges
// Relations whose two ends are in different communities, strongest evidence first. Set
// community_a and/or community_b to a community number to see only the edges between those two
// (null: any). Returns the path too, so Browser draws it.
// :params {community_a: null, community_b: null, limit: 25}
MATCH p = (a:Entity)-[r]->(b:Entity)
WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN']
  AND a.community IS NOT NULL AND b.community IS NOT NULL
WITH p, a, r, b, toInteger(a.community) AS ca, toInteger(b.community) AS cb
WHERE ca <> cb
  AND ($community_a IS NULL OR toInteger($community_a) IN [ca, cb])
  AND ($community_b IS NULL OR toInteger($community_b) IN [ca, cb])
RETURN a.name AS source, ca AS source_community, type(r) AS type, b.name AS target,
       cb AS target_community, r.support AS support, r.evidence[0] AS evidence, p AS path
ORDER BY support DESC, source, target
LIMIT toInteger($limit);


// name: provenance
// Where a concept comes from: each mention with its document, the sentence it sits in (the
// chunk text split at ". ", the part holding the mention's offset, without its final period) and
// up to 10 relations of the concept evidenced in that chunk, each with its evidence sentence.
// :params {name: 'graph neural network', limit: 50}
WITH toLower(trim($name)) AS wanted
MATCH (e:Entity)
WHERE e.norm_name IN [wanted, CASE WHEN wanted ENDS WITH 's' THEN left(wanted, size(wanted) - 1) END]
   OR toLower(e.name) = wanted
MATCH (e)-[m:MENTIONED_IN]->(c:Chunk)<-[:HAS_CHUNK]-(d:Document)
WITH e, m, c, d, m.start - c.start AS at, split(c.text, '. ') AS parts
WITH e, m, c, d,
     reduce(acc = {pos: 0, sentence: null}, part IN parts |
       CASE WHEN acc.sentence IS NULL AND at < acc.pos + size(part) + 2
            THEN {pos: acc.pos, sentence: part}
            ELSE {pos: acc.pos + size(part) + 2, sentence: acc.sentence} END).sentence AS sentence
RETURN e.name AS entity, e.label AS label, d.title AS title, d.source AS source,
       m.text AS mention, m.start AS start, sentence,
       COLLECT {
         MATCH (e)-[r]-(other:Entity)
         WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN'] AND c.id IN r.chunk_ids
         WITH r, other, [i IN range(0, size(r.chunk_ids) - 1) WHERE r.chunk_ids[i] = c.id][0] AS i
         ORDER BY r.support DESC, other.name
         LIMIT 10
         RETURN {relation: CASE WHEN startNode(r) = e THEN e.name + ' -[' + type(r) + ']-> ' + other.name
                                ELSE other.name + ' -[' + type(r) + ']-> ' + e.name END,
                 evidence: r.evidence[i]}
       } AS relations
ORDER BY d.source, m.start
LIMIT toInteger($limit);


// name: run-additions
// What one run added: entities and relations first written by run $run (kind 'entity' or
// 'relation'), most supported first; take the id from the runs query. A run that only re-merged
// what was there adds nothing (the writes are idempotent merges).
// :params {run: 'build-20261126T140203-3f9a', limit: 100}
CALL () {
  MATCH (e:Entity) WHERE e.first_run = $run
  RETURN 'entity' AS kind, e.label AS type, e.name AS name, null AS target, e.support AS support
  UNION ALL
  MATCH (a:Entity)-[r]->(b:Entity)
  WHERE r.first_run = $run AND NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN']
  RETURN 'relation' AS kind, type(r) AS type, a.name AS name, b.name AS target, r.support AS support
}
RETURN kind, type, name, target, support
ORDER BY kind, support DESC, name, target
LIMIT toInteger($limit);


// name: shortest-path
// The shortest chain of relations (either direction, at most 8 hops) between two concepts named
// $from and $to, spelled out with each relation's type and direction and its first evidence.
// :params {from: 'graph neural network', to: 'over-smoothing', limit: 5}
WITH toLower(trim($from)) AS wanted_a, toLower(trim($to)) AS wanted_b
MATCH (a:Entity)
WHERE a.norm_name IN [wanted_a, CASE WHEN wanted_a ENDS WITH 's' THEN left(wanted_a, size(wanted_a) - 1) END]
   OR toLower(a.name) = wanted_a
MATCH (b:Entity)
WHERE b.norm_name IN [wanted_b, CASE WHEN wanted_b ENDS WITH 's' THEN left(wanted_b, size(wanted_b) - 1) END]
   OR toLower(b.name) = wanted_b
WITH a, b WHERE a <> b
MATCH p = shortestPath((a)-[*..8]-(b))
WHERE all(r IN relationships(p) WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN'])
WITH p, nodes(p) AS ns, relationships(p) AS rs
RETURN length(p) AS hops,
       reduce(route = ns[0].name, i IN range(0, size(rs) - 1) |
         route + CASE WHEN startNode(rs[i]) = ns[i] THEN ' -[' + type(rs[i]) + ']-> '
                      ELSE ' <-[' + type(rs[i]) + ']- ' END + ns[i + 1].name) AS route,
       [r IN rs | type(r)] AS types, [r IN rs | r.evidence[0]] AS evidence, p AS path
ORDER BY hops, route
LIMIT toInteger($limit);


// name: neighbourhood
// A concept and the entities one relation away, as a picture (apply deploy/neo4j/style.grass).
// :params {name: 'graph neural network', limit: 50}
WITH toLower(trim($name)) AS wanted
MATCH (e:Entity)
WHERE e.norm_name IN [wanted, CASE WHEN wanted ENDS WITH 's' THEN left(wanted, size(wanted) - 1) END]
   OR toLower(e.name) = wanted
MATCH p = (e)-[r]-(n:Entity)
WHERE NOT type(r) IN ['HAS_CHUNK', 'MENTIONED_IN']
RETURN p AS path, e.name AS name, type(r) AS type, n.name AS neighbour, r.support AS support
ORDER BY support DESC, neighbour
LIMIT toInteger($limit);


// name: runs
// Every recorded run, newest first, with how many entities it was the first to write.
// :params {limit: 50}
MATCH (r:Run) WHERE NOT r:Entity
RETURN r.id AS run, r.kind AS kind, r.status AS status, r.started_at AS started_at,
       r.finished_at AS finished_at, r.extractor AS extractor, r.model AS model,
       COUNT { MATCH (e:Entity) WHERE e.first_run = r.id } AS entities_added, r.summary AS summary
ORDER BY started_at DESC, run
LIMIT toInteger($limit);
